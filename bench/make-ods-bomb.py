#!/usr/bin/env python3
"""Writes a small ODS workbook of ROWS identical rows (default 4,000,000) to PATH: one sheet
« Fiches » with the header code / intitulé, then each row `PE / x`, every row written out (no
`number-rows-repeated`, which would be caught without reading). Streamed into the archive, so this
script holds little memory; the rows compress to a few megabytes. Standard library only (zipfile)."""

import sys
import zipfile

path = sys.argv[1]
rows = int(sys.argv[2]) if len(sys.argv) > 2 else 4_000_000

MIME = b"application/vnd.oasis.opendocument.spreadsheet"
MANIFEST = """<?xml version="1.0" encoding="UTF-8"?>
<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0">
<manifest:file-entry manifest:full-path="/" manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>
<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>
</manifest:manifest>"""


def cell(text):
    return f'<table:table-cell office:value-type="string"><text:p>{text}</text:p></table:table-cell>'


with zipfile.ZipFile(path, "w") as z:
    z.writestr(zipfile.ZipInfo("mimetype"), MIME, compress_type=zipfile.ZIP_STORED)
    z.writestr("META-INF/manifest.xml", MANIFEST, compress_type=zipfile.ZIP_DEFLATED)
    info = zipfile.ZipInfo("content.xml")
    info.compress_type = zipfile.ZIP_DEFLATED
    with z.open(info, "w", force_zip64=True) as content:
        content.write(
            (
                '<?xml version="1.0" encoding="UTF-8"?>'
                '<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"'
                ' xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0"'
                ' xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0">'
                '<office:body><office:spreadsheet><table:table table:name="Fiches">'
                f"<table:table-row>{cell('code')}{cell('intitulé')}</table:table-row>"
            ).encode()
        )
        row = f"<table:table-row>{cell('PE')}{cell('x')}</table:table-row>".encode()
        chunk = row * 10_000
        for _ in range(rows // 10_000):
            content.write(chunk)
        content.write(row * (rows % 10_000))
        content.write(b"</table:table></office:spreadsheet></office:body></office:document-content>")
