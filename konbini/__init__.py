"""Shared pieces of the konbini issuance system: the wire contract's types,
problem documents, mutual-TLS contexts, the clock, and the dev PKI.

Everything here is used by more than one of the three services; nothing here
knows about any one service's storage."""
