"""repairs: ticket word search that stays fast over a million tickets

Measured over 1,000,000 tickets (``python -m bench.repairs``), ticket search p99 was
21 ms on SQLite and 122 ms on PostgreSQL; the target is 10 ms.

SQLite: ``repairs_ticket_fts`` had prefix indexes for 1–6 characters only, so a
longer word (``cracked``, ``keyboard``, ``flickering``; a search sends every word as
a prefix) made FTS5 merge the whole doclist of every term starting with it before
``LIMIT`` applied: 20–50 ms for a common word. The table is re-created with prefix
indexes for 1–12 characters and ``detail=none`` (the search sends single-token prefix
queries, AND-ed, and never asks which column or where: only rowids are kept), 228 MB
→ 67 MB over a million tickets, and rebuilt from ``repairs_ticket``; every query of
the benchmark's mix then takes under 0.2 ms. Its triggers on ``repairs_ticket`` are
not touched.

PostgreSQL: the GIN index on ``to_tsvector('simple', …)`` answered ``'w':*`` by
collecting every row of every lexeme starting with ``w`` before anything else, so a
short word matched hundreds of thousands of rows first (``SN-NOPE-1`` → ``'sn':* &
'nope':* & '1':*``: 180 ms), and the newest matches could only be had by sorting all
of them. It is replaced by a GIN index on ``repairs_ticket_search_lexemes(…)``, which
holds, besides each word of the old ``to_tsvector``:

* every prefix of a word up to 12 characters, so a word of up to 12 characters is
  searched as one exact lexeme (GIN intersects exact lexemes by skipping through
  their posting lists, cheaply even when one of them is very common); a longer word
  stays a ``'w':*`` prefix query on the whole words, whose matches are few;
* two recency buckets of the ticket id, ``A<id // 1024>`` and ``B<id // 16384>``
  (upper case: ``simple`` lower-cases every word, so no word can be one), so the
  search can ask for matches among the newest tickets first and never has to sort
  more than a bounded number of them (see ``plugins.repairs.services``).

``repairs_ticket_search_newest(tsquery, lim)`` reads it: the newest matches, tier by
tier (the comment above it says how, and why its plans are fixed).

The index has ``fastupdate = off``: a pending list would be scanned by every search
until the next vacuum; a write pays for its ~50 index entries at once instead. That
includes every update of a ticket that changes an indexed column, such as a status
change: ~1 ms more than before on PostgreSQL (0.12 → 1.2 ms each, measured over 200).

Revision ID: rp0003
Revises: rp0002
Create Date: 2026-11-24
"""
from typing import Sequence, Union

from alembic import op

revision: str = "rp0003"
down_revision: Union[str, Sequence[str], None] = "rp0002"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

# ------------------------------------------------------------------ SQLite

FTS = "repairs_ticket_fts"
FTS_COLUMNS = "customer_name, units_text, problem"
FTS_OPTIONS = "tokenize='unicode61 remove_diacritics 2', prefix='1 2 3 4 5 6 7 8 9 10 11 12', detail=none"
OLD_FTS_OPTIONS = "tokenize='unicode61 remove_diacritics 2', prefix='1 2 3 4 5 6'"   # rp0002


def create_fts_sql(options: str = FTS_OPTIONS) -> list[str]:
    """The FTS table with ``options``, filled from ``repairs_ticket``."""
    return [f"CREATE VIRTUAL TABLE {FTS} USING fts5({FTS_COLUMNS}, content='repairs_ticket', "
            f"content_rowid='id', {options})",
            f"INSERT INTO {FTS}({FTS}) VALUES ('rebuild')",
            f"INSERT INTO {FTS}({FTS}) VALUES ('optimize')"]


# ------------------------------------------------------------------ PostgreSQL

PREFIX_MAX = 12        # words up to this length are exact lexemes (services.PG_PREFIX_MAX)
RECENT_A = 1024        # ticket ids per 'A' bucket
RECENT_B = 16384       # ticket ids per 'B' bucket
LEXEMES_FN = "repairs_ticket_search_lexemes"
NEWEST_FN = "repairs_ticket_search_newest"
# Must stay textually equal to PG_LEXEMES in plugins/repairs/services.py (the planner
# matches the index by its expression).
LEXEMES = f"{LEXEMES_FN}(customer_name, units_text, problem, id)"
PG_INDEX = "ix_search_repairs_ticket_lexemes"
OLD_PG_INDEX = "ix_search_repairs_ticket_words"     # rp0001
OLD_PG_TSV = ("to_tsvector('simple'::regconfig, coalesce(customer_name, '') || ' ' || "
              "coalesce(units_text, '') || ' ' || coalesce(problem, ''))")

# The function runs when a row is indexed (and to recheck a lossy bitmap page), never
# per row of a search: the search leaves the planner only the GIN index (below).
CREATE_FUNCTION = f"""
CREATE OR REPLACE FUNCTION {LEXEMES_FN}(customer_name text, units_text text, problem text,
                                        ticket_id bigint)
RETURNS tsvector LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT array_to_tsvector(array_agg(lexeme)) FROM (
    SELECT left(word, n) AS lexeme
      FROM unnest(tsvector_to_array(to_tsvector('simple'::regconfig,
             coalesce(customer_name, '') || ' ' || coalesce(units_text, '') || ' ' ||
             coalesce(problem, '')))) AS word,
           generate_series(1, length(word)) AS n
     WHERE n <= {PREFIX_MAX} OR n = length(word)
    UNION ALL SELECT 'A' || (ticket_id / {RECENT_A})
    UNION ALL SELECT 'B' || (ticket_id / {RECENT_B})
  ) AS lexemes
$$"""
# The newest ``lim`` tickets whose lexemes match ``words``, newest first, never sorting
# more than a bounded share of the matches: tier by tier, matches among the two newest
# 'A' buckets (at least the 1,024 newest tickets), then among the two newest 'B'
# buckets below those (at least 16,384), then all older ones, until ``lim`` are found.
# A tier runs only when the ones before found fewer than ``lim``, so its matches are
# sparse: a common word is answered by the first, a rare one costs what it matches.
# The plans must not follow how common the words look: the query is a subquery (the
# planner sees no value), and ``id + 0`` keeps the primary key out (walking it
# backwards would compute the lexemes of every row it passes; a bitmap of "ids below"
# would cover nearly the whole table). What is left is the GIN index, at a small
# estimated cost (no JIT compilation, which alone took a second when the estimate
# followed the words). PL/pgSQL keeps these plans for the connection, generic ones
# (``plan_cache_mode``): a custom plan per call, its default for a known LIMIT, took
# 0.2 ms per tier to plan, four times what running it takes.
CREATE_NEWEST_FUNCTION = f"""
CREATE OR REPLACE FUNCTION {NEWEST_FN}(words tsquery, lim integer)
RETURNS SETOF repairs_ticket LANGUAGE plpgsql STABLE ROWS 20
SET plan_cache_mode = force_generic_plan AS $$
DECLARE
  top bigint := (SELECT coalesce(max(id), 0) FROM repairs_ticket);
  a bigint := top / {RECENT_A};
  b bigint := top / {RECENT_B};
  wanted bigint := lim;
  found bigint;
BEGIN
  RETURN QUERY SELECT * FROM repairs_ticket
    WHERE {LEXEMES} @@ (SELECT words && format('A%s | A%s', a, greatest(a - 1, 0))::tsquery)
    ORDER BY id + 0 DESC LIMIT wanted;
  GET DIAGNOSTICS found = ROW_COUNT;
  wanted := wanted - found;
  IF wanted <= 0 THEN RETURN; END IF;
  RETURN QUERY SELECT * FROM repairs_ticket
    WHERE {LEXEMES} @@ (SELECT words && format('B%s | B%s', b, greatest(b - 1, 0))::tsquery)
      AND id + 0 < (a - 1) * {RECENT_A}
    ORDER BY id + 0 DESC LIMIT wanted;
  GET DIAGNOSTICS found = ROW_COUNT;
  wanted := wanted - found;
  IF wanted <= 0 THEN RETURN; END IF;
  RETURN QUERY SELECT * FROM repairs_ticket
    WHERE {LEXEMES} @@ (SELECT words) AND id + 0 < (b - 1) * {RECENT_B}
    ORDER BY id + 0 DESC LIMIT wanted;
END
$$"""
CREATE_INDEX = f"CREATE INDEX {PG_INDEX} ON repairs_ticket USING gin ({LEXEMES}) WITH (fastupdate = off)"


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute(f"DROP TABLE {FTS}")
        for sql in create_fts_sql():
            op.execute(sql)
        return
    op.execute(CREATE_FUNCTION)
    op.execute(CREATE_NEWEST_FUNCTION)
    op.execute(CREATE_INDEX)
    op.execute(f"DROP INDEX IF EXISTS {OLD_PG_INDEX}")
    op.execute("ANALYZE repairs_ticket")   # statistics on the new index expression


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute(f"DROP TABLE {FTS}")
        for sql in create_fts_sql(OLD_FTS_OPTIONS):
            op.execute(sql)
        return
    op.execute(f"CREATE INDEX {OLD_PG_INDEX} ON repairs_ticket USING gin ({OLD_PG_TSV})")
    op.execute(f"DROP INDEX IF EXISTS {PG_INDEX}")
    op.execute(f"DROP FUNCTION IF EXISTS {NEWEST_FN}(tsquery, integer)")
    op.execute(f"DROP FUNCTION IF EXISTS {LEXEMES_FN}(text, text, text, bigint)")
