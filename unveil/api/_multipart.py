"""The `image` field of a multipart/form-data body, parsed in memory.

Starlette's own form parsing spools a file over 1 MB to a temporary file on disk; a photo must never
touch the disk, so the body (already bounded by the server's limit) is parsed here with python-multipart,
whose in-memory limit is set above the body's size. python-multipart caps each part's headers (8 of at
most 4 KB) but not the number of parts, and each part costs Python work: a 25 MB body of 480,000 empty
parts took 8 s to parse. Parsing stops at the first part beyond MAX_PARTS.
"""
from __future__ import annotations

from python_multipart import create_form_parser
from python_multipart.exceptions import FormParserError
from python_multipart.multipart import Field, File

from fer_core import UnveilError

IMAGE_FIELD = "image"
NO_IMAGE = f"the multipart body has no field named {IMAGE_FIELD!r}"
SEVERAL_IMAGES = f"the multipart body has more than one {IMAGE_FIELD!r} field; send one photo per request"
MALFORMED = "the multipart body cannot be parsed ({reason})"
# The photo and a few fields a client may add (a name, a camera id): more parts than this are refused.
MAX_PARTS = 16
TOO_MANY_PARTS = f"the multipart body has more than {MAX_PARTS} parts; send the photo in the field {IMAGE_FIELD!r}"


class MultipartError(UnveilError, ValueError):
    """A multipart/form-data body without exactly one readable `image` field."""


def image_from_multipart(body: bytes, content_type: str) -> bytes:
    """The bytes of the one `image` field of `body`; MultipartError otherwise. A part with a filename
    arrives as a File, one without (curl's `-F 'image=<photo.jpg'`, scripts that send bare bytes) as a
    Field: both are the photo."""
    parts: list[File | Field] = []

    def keep(part: File | Field) -> None:
        parts.append(part)
        if len(parts) > MAX_PARTS:
            raise MultipartError(TOO_MANY_PARTS)  # out of the parser at once: the rest is never read

    try:
        parser = create_form_parser({"Content-Type": content_type.encode("latin-1")}, on_field=keep, on_file=keep,
                                    config={"MAX_MEMORY_FILE_SIZE": len(body) + 1})
        parser.write(body)
        parser.finalize()
    except MultipartError:
        raise
    except (FormParserError, ValueError) as exc:
        raise MultipartError(MALFORMED.format(reason=exc)) from None
    images = [part for part in parts if part.field_name == IMAGE_FIELD.encode()]
    if not images:
        raise MultipartError(NO_IMAGE)
    if len(images) > 1:
        raise MultipartError(SEVERAL_IMAGES)
    return _content(images[0])


def _content(part: File | Field) -> bytes:
    if isinstance(part, Field):
        # None only for a urlencoded name without '='; a multipart field always has bytes.
        return part.value or b""
    # The limit above keeps every file in memory; a file on disk would mean that assumption broke.
    assert part.in_memory
    part.file_object.seek(0)
    return part.file_object.read()
