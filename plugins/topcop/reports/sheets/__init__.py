"""The assessment workbook's sheets, one module each, named after the sheet it writes.

Each module's function adds its sheet to the workbook from values already read
(``reports.figures``, ``reports.completeness``) and the edition's notes
(``reports.edition``); none reads the warehouse. Every value goes through
``topcop.cells.write_cell``, so text from a return is never a formula.
"""
