-- Runs once, when the database is created (in one transaction with any
-- other script of this directory: a failure leaves no database behind).
CREATE TABLE notes (
  id      INTEGER PRIMARY KEY,
  body    TEXT NOT NULL,
  created TEXT NOT NULL DEFAULT '2026-01-01'
);
INSERT INTO notes (body) VALUES ('state is not a package'), ('snapshots come first');
