"""Reports built from the warehouse: timeliness of returns and the assessment workbook."""
