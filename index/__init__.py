"""The hybrid index: FAISS dense vectors, BM25 lexical scores and a SQLite metadata store."""
