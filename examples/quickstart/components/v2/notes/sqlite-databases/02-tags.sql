-- Version 2 of the component adds tags. Activation only runs init scripts
-- for a database it creates: an existing database keeps its data, and
-- migrating it is the application's job, after the pre-upgrade snapshot.
CREATE TABLE tags (
  note INTEGER NOT NULL REFERENCES notes (id),
  tag  TEXT NOT NULL
);
