DROP TABLE pdf_exports;
