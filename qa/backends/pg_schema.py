"""The PostgreSQL schema, as numbered migrations applied once each, in order, under a lock.

`schema_migrations` records what a database has; `migrate` applies the rest in one transaction
per migration, holding an advisory lock, so nodes starting together never apply one twice.
A new version appends to MIGRATIONS and never edits an applied one.

The HNSW index is not a migration: its dimension is the model's, known at the first write
(`hnsw_index_sql`). Paragraph vectors are an untyped `vector` column with the index on
`embedding::vector(dim)`, so `qa index rebuild --model M` may change the dimension.
"""

from __future__ import annotations

import psycopg

# Any constant: the advisory lock every node takes to migrate.
MIGRATION_LOCK = 0x51A_0016
HNSW_INDEX = "paragraphs_hnsw"

MIGRATIONS: list[tuple[int, str, str]] = [
    (
        1,
        "documents, paragraphs with pgvector embeddings, sentences, blocks, BM25 postings and term statistics",
        """
        CREATE EXTENSION IF NOT EXISTS vector;
        CREATE TABLE meta (key text PRIMARY KEY, value text NOT NULL);
        INSERT INTO meta VALUES ('generation', '0'), ('paragraphs', '0'), ('tokens', '0');
        CREATE TABLE documents (
            id text PRIMARY KEY,
            title text NOT NULL,
            source text NOT NULL,
            content_hash text NOT NULL,
            created_at text NOT NULL,
            updated_at text NOT NULL
        );
        CREATE TABLE paragraphs (
            id bigserial PRIMARY KEY,
            doc_id text NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
            n integer NOT NULL,
            text text NOT NULL,
            hash text NOT NULL,
            tokens text NOT NULL,
            embedding vector NOT NULL,
            section text NOT NULL DEFAULT '',
            citable_start integer NOT NULL DEFAULT 0
        );
        CREATE INDEX paragraphs_doc ON paragraphs (doc_id, n);
        CREATE INDEX paragraphs_hash ON paragraphs (hash);
        CREATE TABLE sentences (
            paragraph_id bigint NOT NULL REFERENCES paragraphs(id) ON DELETE CASCADE,
            n integer NOT NULL,
            start integer NOT NULL,
            "end" integer NOT NULL,
            embedding vector NOT NULL,
            PRIMARY KEY (paragraph_id, n)
        );
        CREATE TABLE blocks (
            doc_id text NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
            n integer NOT NULL,
            label text NOT NULL,
            reason text NOT NULL,
            section text NOT NULL,
            paragraph integer,
            key text NOT NULL,
            text text NOT NULL,
            PRIMARY KEY (doc_id, n)
        );
        CREATE INDEX blocks_key ON blocks (key);
        -- BM25 as qa.lexical computes it: a posting per (term, paragraph) with the term's count
        -- and the paragraph's length, a document frequency per term, and the totals in meta.
        CREATE TABLE postings (
            term text NOT NULL,
            paragraph_id bigint NOT NULL REFERENCES paragraphs(id) ON DELETE CASCADE,
            tf integer NOT NULL,
            length integer NOT NULL,
            PRIMARY KEY (term, paragraph_id)
        );
        CREATE INDEX postings_paragraph ON postings (paragraph_id);
        CREATE TABLE terms (term text PRIMARY KEY, df integer NOT NULL);
        """,
    ),
]


def migrate(con: psycopg.Connection) -> list[int]:
    """Apply the migrations this database lacks; the versions applied now."""
    applied_now = []
    with con.transaction():
        con.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
        con.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            "version integer PRIMARY KEY, description text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())"
        )
        have = {row[0] for row in con.execute("SELECT version FROM schema_migrations")}
        for version, description, sql in MIGRATIONS:
            if version in have:
                continue
            con.execute(sql)
            con.execute("INSERT INTO schema_migrations (version, description) VALUES (%s, %s)", (version, description))
            applied_now.append(version)
    return applied_now


def hnsw_index_sql(dim: int, m: int, ef_construction: int) -> str:
    """The approximate index over paragraph vectors of `dim` (inner product on unit vectors)."""
    return (
        f"CREATE INDEX IF NOT EXISTS {HNSW_INDEX} ON paragraphs USING hnsw "
        f"((embedding::vector({int(dim)})) vector_ip_ops) WITH (m = {int(m)}, ef_construction = {int(ef_construction)})"
    )
