"""Images drawn on many certificates (the 職印), hashed and compressed once per process.

reportlab's ``drawImage`` hashes an image's pixels (MD5 of ~270 KB for the 職印 with
its alpha) and Flate-compresses its colour and its soft mask again for every
document: ~2 ms of a ~9 ms 住民票 render (issue 12). :func:`draw_image` places the
same image XObject, named and compressed as ``drawImage`` would (the PDF is the
same), from a prototype made once per image. The cache is keyed by the image
reader, itself cached by the image's content (``pdf.png_reader``): pixels derived
from read-only inputs, nothing a worker process could disagree with another about.
Each document gets its own copies of the XObjects; only the compressed bytes are
shared (immutable).
"""

from __future__ import annotations

import copy
from functools import lru_cache

from reportlab.lib.utils import ImageReader
from reportlab.pdfbase.pdfdoc import PDFImageXObject, PDFObjectReference
from reportlab.pdfgen.canvas import Canvas, _digester

MASK = "auto"  # the alpha channel becomes a soft mask, as drawImage(mask="auto")


@lru_cache(maxsize=64)
def _prototype(reader: ImageReader) -> PDFImageXObject:
    """The image XObject (and its soft mask) as ``drawImage`` would make it."""
    alpha = reader._dataA
    mask_data = alpha.getRGBData() if alpha else MASK.encode()
    name = _digester(reader.getRGBData() + mask_data)
    image = PDFImageXObject(name, reader, mask=MASK)
    image.name = name
    return image


def draw_image(c: Canvas, reader: ImageReader, x: float, y: float, width: float,
               height: float) -> None:
    """``c.drawImage(reader, x, y, width, height, mask="auto")``, without hashing or
    compressing the pixels again."""
    prototype = _prototype(reader)
    document = c._doc
    c._currentPageHasImages = 1
    registered = document.getXObjectName(prototype.name)
    if document.idToObject.get(registered) is None:
        image = copy.copy(prototype)
        c._setXObjects(image)
        document.Reference(image, registered)
        document.addForm(prototype.name, image)
        soft_mask = getattr(prototype, "_smask", None)
        if soft_mask is not None:
            del image._smask
            mask_name = document.getXObjectName(soft_mask.name)
            if document.idToObject.get(mask_name) is None:
                mask = copy.copy(soft_mask)
                c._setXObjects(mask)
                image.smask = document.Reference(mask, mask_name)
            else:
                image.smask = PDFObjectReference(mask_name)
    c.saveState()
    c.translate(x, y)
    c.scale(width, height)
    c._code.append(f"/{registered} Do")
    c.restoreState()
    c._formsinuse.append(prototype.name)
