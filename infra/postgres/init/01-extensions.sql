-- Run once by the pgvector/pgvector image when its data volume is first initialised.
-- The router stores tool embeddings in a vector column when the extension exists
-- (else in real[] searched in process, with the same results).
CREATE EXTENSION IF NOT EXISTS vector;
