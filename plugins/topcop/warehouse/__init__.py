"""The warehouse: schema migrations, loading accepted returns, and the queries analysts and reports use."""
