-- Run once by the postgres image when its data volume is new (compose.yaml):
-- the center's database is POSTGRES_DB; each municipal server gets its own.
CREATE DATABASE m131016 OWNER konbini;
CREATE DATABASE m452017 OWNER konbini;
CREATE DATABASE m141003 OWNER konbini;
