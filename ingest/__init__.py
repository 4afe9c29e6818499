"""Ingestion: loaders for clinical document formats, section-aware chunking, embeddings."""
