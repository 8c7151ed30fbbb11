# Sourced by bench/segment and bench/intake: generate_sql ENGINE writes the SQL that adds $count people to a
# database holding the demo (applications to its jobs, tags, consent events and states, search entries), in the
# SQL of ENGINE (sqlite or postgres), for sqlite3 or psql to run.
generate_sql() {
  local e=$1 now day series search_into search_from search_join analyze=ANALYZE
  # A person's indexed text: names, email, and a keyword for some.
  local words="'prenom' || i || ' nom' || i || ' bench' || i || ' bench' || i || '@example.com'
         || CASE WHEN i % 13 = 0 THEN ' python' ELSE '' END || CASE WHEN i % 17 = 0 THEN ' kotlin' ELSE '' END"
  # A person's id starts with digits spread over the whole range (Knuth's multiplicative hash of their number), as
  # the random ids Vivier gives people are: the id order is not the order they were added in.
  local spread=2654435761
  if [ "$e" = sqlite ]; then
    id() { printf "printf('%s-0000-4000-8000-%%012X', %s)" "$1" "$2"; }
    person() { printf "printf('%%08X-0000-4000-8000-%%012X', (%s * $spread) %% 4294967296, %s)" "$1" "$1"; }
    now="unixepoch()"; day=86400
    series="WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $count) SELECT i FROM n"
    # A page cache of 2 GB: people are added in id order no more (see `person`), so their rows land all over the
    # tables and indexes, and a small cache would read pages back for every row.
    echo "PRAGMA journal_mode = WAL; PRAGMA synchronous = OFF; PRAGMA cache_size = -2000000;"
    echo "CREATE TEMP TABLE seq AS $series;"
    # Each person's index entry under their number, given with their record (see CreateSearchKeys), as Vivier
    # writes it.
    search_into="rowid, candidate_id, body"
    search_from="k.key, lower(k.candidate_id), $words"
    search_join="JOIN search_keys k ON k.candidate_id = $(person i)"
  else
    id() { printf "('%s-0000-4000-8000-' || lpad(to_hex(%s), 12, '0'))::uuid" "$(echo "$1" | tr 'A-F' 'a-f')" "$2"; }
    person() {
      printf "(lpad(to_hex((%s * $spread) %% 4294967296), 8, '0') || '-0000-4000-8000-' || lpad(to_hex(%s), 12, '0'))::uuid" "$1" "$1"
    }
    now="now()"; day="interval '1 day'"
    analyze="VACUUM ANALYZE"  # what autovacuum does after a bulk load: statistics, and the map index-only reads use
    echo "CREATE TEMP TABLE seq AS SELECT generate_series(1, $count) AS i;"
    search_into="candidate_id, document"
    search_from="$(person i), to_tsvector('simple', $words)"  # the words only (see UpdateSearchIndexDropBody)
    search_join=""
  fi
  echo "CREATE TEMP TABLE jobs_n AS SELECT ROW_NUMBER() OVER (ORDER BY title) - 1 AS n, id,
    (SELECT id FROM stages s WHERE s.job_id = j.id AND s.position = 0) AS s0,
    (SELECT id FROM stages s WHERE s.job_id = j.id AND s.position = 1) AS s1,
    (SELECT id FROM stages s WHERE s.job_id = j.id AND s.position = 2) AS s2 FROM jobs j;"
  local ago="$now - (i % 365) * $day"
  cat <<SQL
INSERT INTO candidates (id, created_at, updated_at, email, first_name, last_name, phone, language, last_active_contact_at, location)
  SELECT $(person i), $ago, $now, 'bench' || i || '@example.com', 'Prénom' || i, 'Nom' || i, '',
         CASE WHEN i % 5 = 0 THEN 'en' ELSE 'fr' END, $ago,
         CASE i % 10 WHEN 1 THEN 'Lyon' WHEN 2 THEN 'Paris' ELSE '' END FROM seq;
INSERT INTO applications (id, created_at, updated_at, candidate_id, job_id, stage_id, stage_entered_at, outcome,
    source, source_detail, cover_letter)
  SELECT $(id A0000000 i), $ago, $now, $(person i), j.id,
         CASE WHEN i % 7 = 0 THEN j.s2 WHEN i % 2 = 0 THEN j.s1 ELSE j.s0 END, $ago,
         CASE WHEN i % 4 = 2 THEN 'rejected' WHEN i % 50 = 1 THEN 'hired' ELSE 'active' END,
         CASE i % 5 WHEN 0 THEN 'referral' WHEN 1 THEN 'job_board' ELSE 'career_site' END, '', ''
  FROM seq JOIN jobs_n j ON j.n = i % (SELECT COUNT(*) FROM jobs_n);
INSERT INTO tags (id, name) VALUES ($(id F0000000 1), 'bench-campaign');
INSERT INTO candidate_tags (id, candidate_id, tag_id)
  SELECT $(id 90000000 i), $(person i), (SELECT id FROM tags WHERE name = 'swift') FROM seq WHERE i % 11 = 0;
INSERT INTO candidate_tags (id, candidate_id, tag_id)
  SELECT $(id 91000000 i), $(person i), $(id F0000000 1) FROM seq WHERE i % 10 = 0;
INSERT INTO consent_events (id, created_at, candidate_id, purpose, action, channel, wording_version, locale)
  SELECT $(id E0000000 i), $ago, $(person i), 'talent_pool', 'granted', 'career_form', 1, 'fr' FROM seq WHERE i % 2 = 0;
INSERT INTO consent_events (id, created_at, candidate_id, purpose, action, channel, wording_version, locale)
  SELECT $(id E1000000 i), $ago, $(person i), 'newsletter',
         CASE WHEN i % 20 = 2 THEN 'withdrawn' ELSE 'confirmed' END, 'email_link', 1, 'fr' FROM seq WHERE i % 2 = 0;
INSERT INTO consent_states (id, candidate_id, purpose, series, action, at)
  SELECT $(id 80000000 i), $(person i), 'talent_pool', '', 'granted', $ago FROM seq WHERE i % 2 = 0;
INSERT INTO consent_states (id, candidate_id, purpose, series, action, at)
  SELECT $(id 81000000 i), $(person i), 'newsletter', '', CASE WHEN i % 20 = 2 THEN 'withdrawn' ELSE 'confirmed' END,
         $ago FROM seq WHERE i % 2 = 0;
INSERT INTO candidate_search ($search_into)
  SELECT $search_from FROM seq $search_join;
$analyze;
SQL
}

