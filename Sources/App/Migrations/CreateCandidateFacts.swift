import Fluent
import SQLKit
import VivierCore

/// One narrow row per person segments can reach (not merged into another record, not erased), holding what they
/// ask about them that lives in other tables or in a wide row: their language, last active contact, places, the
/// outcomes, sources, departments and stage kinds of their applications, their tags, when they first and last
/// applied, and their current consent per purpose; on PostgreSQL also the words their search entry holds.
/// A segment over a million people is then one pass over a narrow table (or index probes into it), instead of
/// lists of hundreds of thousands of applications joined to the people one by one.
///
/// Triggers keep every row right whatever writes the tables (the app, an import, a bulk load): each change to a
/// person, an application, a tag link, a current consent, a job's department or place, a stage's kind or a tag's
/// name rebuilds the rows of
/// the people it touches from the source tables, with the same statement that fills the table here. On SQLite they
/// run per row (a rebuild costs about 10 µs); on PostgreSQL once per statement over the rows it changed, so that
/// a bulk load is one set-based rebuild instead of a million planned calls.
struct CreateCandidateFacts: AsyncMigration {
    /// Whether the table has its second form or, as this migration first made it, its first: on SQLite, a row is
    /// keyed by the person's number in the search index (see `UpdateCandidateFactsKeyBySearchKey`) instead of by
    /// their id alone; on PostgreSQL, it holds the person's search words (see `UpdateCandidateFactsAddSearchWords`).
    var revised = true

    /// The column holding the current consent (to every newsletter, for `newsletter`) for a purpose.
    static func consentColumn(_ purpose: ConsentPurpose) -> String { "consent_" + purpose.rawValue }

    /// Lists (departments, outcomes…) are their values between separators, the ASCII unit separator, which no
    /// value typed in a form holds: `\u{1F}tech\u{1F}data\u{1F}`. A value is in a list when its separated form is.
    static func separator(postgres: Bool) -> String { postgres ? "chr(31)" : "char(31)" }

    /// On PostgreSQL, the list of the distinct `value`s of the rows aggregated (NULL without rows).
    static func aggregatedList(_ value: String) -> String {
        let separator = separator(postgres: true)
        return "\(separator) || string_agg(DISTINCT \(value), \(separator)) || \(separator)"
    }

    /// The tag links of the person `person` (an SQL expression), with their tags `t`.
    static func tagLinks(of person: String) -> String {
        "candidate_tags ct JOIN tags t ON t.id = ct.tag_id WHERE ct.candidate_id = \(person)"
    }

    /// `list` holds `value` (an SQL expression each).
    static func contains(_ list: String, _ value: String, postgres: Bool) -> String {
        let separator = separator(postgres: postgres)
        let needle = "\(separator) || \(value) || \(separator)"
        return postgres ? "strpos(\(list), \(needle)) > 0" : "instr(\(list), \(needle)) > 0"
    }

    /// The columns, in order (the table's, and the rebuild's), before the search words on PostgreSQL.
    static let columns =
        [
            "id", "language", "active_at", "places", "outcomes", "sources", "departments", "stages", "tags",
            "first_applied_at", "last_applied_at",
        ] + ConsentPurpose.allCases.map(consentColumn)

    /// The people segments reach: a record merged into another or erased has no facts.
    static let reachable = "c.merged_into_id IS NULL AND c.erased_at IS NULL AND c.email <> ''"

    /// The facts of the reachable people `c` of `FROM candidates c WHERE <where>`, in the table's column order. The
    /// lists are empty (never NULL) without applications or tags, so that a negated condition on them holds.
    static func select(where condition: String, postgres: Bool, revised: Bool = true) -> String {
        let separator = separator(postgres: postgres)
        let key = postgres || !revised ? [] : ["(SELECT k.key FROM search_keys k WHERE k.candidate_id = c.id)"]
        let person =
            key + [
                "c.id", "c.language",
                "COALESCE(c.last_active_contact_at, c.created_at)",
            ]
        let lists = ["LOWER(j.location)", "a.outcome", "a.source", "LOWER(j.department)", "st.kind"]
        let applications =
            "applications a LEFT JOIN jobs j ON j.id = a.job_id LEFT JOIN stages st ON st.id = a.stage_id"
        let tags = tagLinks(of: "c.id")
        guard postgres else {
            // SQLite: one small subquery per column (it has no LATERAL; each is an index range of the person's).
            func list(_ value: String, from: String) -> String {
                """
                COALESCE((SELECT \(separator) || group_concat(v, \(separator)) || \(separator)
                  FROM (SELECT DISTINCT \(value) AS v FROM \(from))), '')
                """
            }
            let values = lists.map { list($0, from: "\(applications) WHERE a.candidate_id = c.id") }
            let consents = ConsentPurpose.allCases.map {
                """
                (SELECT s.action FROM consent_states s WHERE s.candidate_id = c.id AND s.purpose = '\($0.rawValue)'
                  AND s.series = '' ORDER BY s.at DESC LIMIT 1)
                """
            }
            let columns =
                person + ["COALESCE(LOWER(c.location), '') || \(values[0])"] + values.dropFirst()
                + [list("LOWER(t.name)", from: tags)]
                + ["MIN", "MAX"].map { "(SELECT \($0)(a.created_at) FROM applications a WHERE a.candidate_id = c.id)" }
                + consents
            return "SELECT \(columns.joined(separator: ",\n  ")) FROM candidates c WHERE \(reachable) AND \(condition)"
        }
        // PostgreSQL: the person's applications and consents each read once.
        let aggregates =
            lists.enumerated().map { "\(aggregatedList($1)) AS l\($0)" }
            + ["MIN(a.created_at) AS first", "MAX(a.created_at) AS last"]
        let consents = ConsentPurpose.allCases.map {
            "(array_agg(s.action ORDER BY s.at DESC) FILTER (WHERE s.purpose = '\($0.rawValue)'))[1]"
        }
        let columns =
            person + ["COALESCE(LOWER(c.location), '') || COALESCE(ap.l0, '')"]
            + (1..<lists.count).map { "COALESCE(ap.l\($0), '')" } + ["COALESCE(tg.l, '')", "ap.first", "ap.last"]
            + consents.indices.map { "cs.c\($0)" } + (revised ? [searchWords(of: "c.id")] : [])
        return """
            SELECT \(columns.joined(separator: ", ")) FROM candidates c
            LEFT JOIN LATERAL (SELECT \(aggregates.joined(separator: ", "))
              FROM \(applications) WHERE a.candidate_id = c.id) ap ON TRUE
            LEFT JOIN LATERAL (SELECT \(aggregatedList("LOWER(t.name)")) AS l FROM \(tags)) tg ON TRUE
            LEFT JOIN LATERAL (SELECT \(consents.enumerated().map { "\($1) AS c\($0)" }.joined(separator: ", "))
              FROM consent_states s WHERE s.candidate_id = c.id AND s.series = '') cs ON TRUE
            WHERE \(reachable) AND \(condition)
            """
    }

    /// On PostgreSQL, the words of the search entry of the person `person` (an SQL expression); none without one.
    static func searchWords(of person: String) -> String {
        "COALESCE((SELECT s.document FROM candidate_search s WHERE s.candidate_id = \(person)), ''::tsvector)"
    }

    /// Rebuilds the rows of the reachable people `c` of `FROM candidates c WHERE <where>` (a person who stops being
    /// reachable loses their row with the change to their record; a removed one with their record).
    static func refresh(where condition: String, postgres: Bool, revised: Bool = true) -> String {
        guard postgres else {
            return
                "INSERT OR REPLACE INTO candidate_facts \(select(where: condition, postgres: false, revised: revised));"
        }
        let update = (columns.dropFirst() + (revised ? ["search"] : [])).map { "\($0) = EXCLUDED.\($0)" }
        return """
            INSERT INTO candidate_facts \(select(where: condition, postgres: true, revised: revised))
            ON CONFLICT (id) DO UPDATE SET \(update.joined(separator: ", "));
            """
    }

    func prepare(on database: any Database) async throws {
        let sql = database.sql()
        let postgres = database.isPostgres
        let consents = ConsentPurpose.allCases.map { "\(Self.consentColumn($0)) TEXT" }
        let searchWords = revised && postgres
        // The types of the source columns, whose affinity SQLite compares with: an id typed otherwise than the
        // ids it is compared with cannot be looked up by its key.
        let (id, date) = postgres ? ("uuid", "TIMESTAMPTZ") : ("UUID", "REAL")
        let keyedBySearchKey = revised && !postgres
        if keyedBySearchKey {
            try await sql.raw("INSERT OR IGNORE INTO search_keys (candidate_id) SELECT id FROM candidates").run()
        }
        let key =
            keyedBySearchKey ? "key INTEGER PRIMARY KEY, id UUID NOT NULL UNIQUE" : "id \(id) NOT NULL PRIMARY KEY"
        try await sql.raw(
            """
            CREATE TABLE candidate_facts (
              \(unsafeRaw: key), language TEXT NOT NULL,
              active_at \(unsafeRaw: date), places TEXT NOT NULL, outcomes TEXT NOT NULL, sources TEXT NOT NULL,
              departments TEXT NOT NULL, stages TEXT NOT NULL, tags TEXT NOT NULL, first_applied_at \(unsafeRaw: date),
              last_applied_at \(unsafeRaw: date),
              \(unsafeRaw: (consents + (searchWords ? ["search tsvector NOT NULL"] : [])).joined(separator: ", "))
            )\(unsafeRaw: postgres || revised ? "" : " WITHOUT ROWID")
            """
        ).run()
        try await sql.raw(
            "INSERT INTO candidate_facts \(unsafeRaw: Self.select(where: "1 = 1", postgres: postgres, revised: revised))"
        ).run()
        if searchWords {
            try await sql.raw("CREATE INDEX candidate_facts_search ON candidate_facts USING GIN (search)").run()
        }
        let triggers = Self.sqliteTriggers(revised: revised)
        for statement in postgres ? Self.postgresTriggers(revised: revised).flatMap(\.statements) : triggers.map(\.sql)
        {
            try await sql.raw("\(unsafeRaw: statement)").run()
        }
    }

    func revert(on database: any Database) async throws {
        let sql = database.sql()
        let postgres = database.isPostgres
        if postgres {
            for trigger in Self.postgresTriggers(revised: revised) {
                try await sql.raw("DROP TRIGGER \(unsafeRaw: trigger.name) ON \(unsafeRaw: trigger.table)").run()
                try await sql.raw("DROP FUNCTION \(unsafeRaw: trigger.name)()").run()
            }
        } else {
            for trigger in Self.sqliteTriggers(revised: revised) {
                try await sql.raw("DROP TRIGGER \(unsafeRaw: trigger.name)").run()
            }
        }
        try await sql.raw("DROP TABLE candidate_facts").run()
    }

    /// The columns of a person and of an application that facts are made of.
    static let personColumns = [
        "email", "merged_into_id", "erased_at", "language", "location", "last_active_contact_at", "created_at",
    ]
    static let applicationColumns = ["candidate_id", "job_id", "stage_id", "outcome", "source", "created_at"]

    static func sqliteTriggers(revised: Bool) -> [(name: String, sql: String)] {
        func one(_ id: String) -> String { refresh(where: "c.id = \(id)", postgres: false, revised: revised) }
        func everyoneOn(_ column: String) -> String {
            refresh(
                where: "c.id IN (SELECT a.candidate_id FROM applications a WHERE a.\(column) = NEW.id)",
                postgres: false,
                revised: revised)
        }
        // A person's number is given with their record, before their facts are written under it.
        let number = revised ? "INSERT OR IGNORE INTO search_keys (candidate_id) VALUES (NEW.id); " : ""
        let person = personColumns.joined(separator: ", ")
        let name = "(SELECT LOWER(t.name) FROM tags t WHERE t.id = NEW.tag_id)"
        let application = applicationColumns.joined(separator: ", ")
        return [
            ("candidate_facts_person_insert", "AFTER INSERT ON candidates BEGIN \(number)\(one("NEW.id")) END"),
            (
                "candidate_facts_person_update",
                """
                AFTER UPDATE OF \(person) ON candidates
                BEGIN DELETE FROM candidate_facts WHERE id = NEW.id; \(one("NEW.id")) END
                """
            ),
            (
                "candidate_facts_person_delete",
                "AFTER DELETE ON candidates BEGIN DELETE FROM candidate_facts WHERE id = OLD.id; END"
            ),
            ("candidate_facts_application_insert", "AFTER INSERT ON applications BEGIN \(one("NEW.candidate_id")) END"),
            (
                "candidate_facts_application_update",
                "AFTER UPDATE OF \(application) ON applications BEGIN \(one("NEW.candidate_id")) END"
            ),
            (
                "candidate_facts_application_moved",
                """
                AFTER UPDATE OF candidate_id ON applications WHEN OLD.candidate_id <> NEW.candidate_id
                BEGIN \(one("OLD.candidate_id")) END
                """
            ),
            ("candidate_facts_application_delete", "AFTER DELETE ON applications BEGIN \(one("OLD.candidate_id")) END"),
            (
                "candidate_facts_consent_insert",
                "AFTER INSERT ON consent_states WHEN NEW.series = '' BEGIN \(one("NEW.candidate_id")) END"
            ),
            (
                "candidate_facts_consent_update",
                "AFTER UPDATE ON consent_states BEGIN \(one("OLD.candidate_id")) \(one("NEW.candidate_id")) END"
            ),
            (
                "candidate_facts_consent_delete",
                "AFTER DELETE ON consent_states WHEN OLD.series = '' BEGIN \(one("OLD.candidate_id")) END"
            ),
            ("candidate_facts_job", "AFTER UPDATE OF department, location ON jobs BEGIN \(everyoneOn("job_id")) END"),
            ("candidate_facts_stage", "AFTER UPDATE OF kind ON stages BEGIN \(everyoneOn("stage_id")) END"),
            // A new tag link adds the name to the list (an import writes three a person): no rebuild needed.
            (
                "candidate_facts_tag_insert",
                """
                AFTER INSERT ON candidate_tags BEGIN UPDATE candidate_facts
                SET tags = CASE tags WHEN '' THEN char(31) ELSE tags END || \(name) || char(31)
                WHERE id = NEW.candidate_id AND NOT \(contains("tags", name, postgres: false)); END
                """
            ),
            (
                "candidate_facts_tag_update",
                "AFTER UPDATE ON candidate_tags BEGIN \(one("OLD.candidate_id")) \(one("NEW.candidate_id")) END"
            ),
            ("candidate_facts_tag_delete", "AFTER DELETE ON candidate_tags BEGIN \(one("OLD.candidate_id")) END"),
            (
                "candidate_facts_tag_renamed",
                """
                AFTER UPDATE OF name ON tags BEGIN \(refresh(
                    where: "c.id IN (SELECT ct.candidate_id FROM candidate_tags ct WHERE ct.tag_id = NEW.id)",
                    postgres: false, revised: revised)) END
                """
            ),
        ].map { (name: $0.0, sql: "CREATE TRIGGER \($0.0) \($0.1)") }
    }

    /// One statement-level trigger per table and event, reading the rows the statement changed (transition
    /// tables `old_rows` / `new_rows`). The people concerned are gathered into an array first: a statement that
    /// changed nothing that matters (the indicators' facts rewrite `applications` one person at a time) stops
    /// there, and the rebuild finds the people by key whatever their number, where a join planned on unknown
    /// sizes read every person (7 ms a statement at 100,000 people).
    struct PostgresTrigger {
        var name: String
        var table: String
        var event: String
        /// The people concerned, as a query over the transition tables.
        var people: String
        /// What is done for the array `people` (most often, a rebuild of their rows).
        var work: String

        var statements: [String] {
            let transitions = [
                event == "DELETE" ? nil : "NEW TABLE AS new_rows", event == "INSERT" ? nil : "OLD TABLE AS old_rows",
            ].compactMap { $0 }
            return [
                """
                CREATE FUNCTION \(name)() RETURNS trigger LANGUAGE plpgsql AS $$
                DECLARE people uuid[] := ARRAY(\(people));
                BEGIN IF cardinality(people) > 0 THEN \(work) END IF; RETURN NULL; END $$
                """,
                """
                CREATE TRIGGER \(name) AFTER \(event) ON \(table) REFERENCING \(transitions.joined(separator: " "))
                FOR EACH STATEMENT EXECUTE FUNCTION \(name)()
                """,
            ]
        }
    }

    static func postgresTriggers(revised: Bool) -> [PostgresTrigger] {
        let rebuild = refresh(where: "c.id = ANY(people)", postgres: true, revised: revised)
        /// Rows of `table` whose `columns` the update changed, as `n` (new) and `o` (old).
        func changed(_ columns: [String]) -> String {
            let list = { (alias: String) in columns.map { "\(alias).\($0)" }.joined(separator: ", ") }
            return "new_rows n JOIN old_rows o ON o.id = n.id WHERE (\(list("n"))) IS DISTINCT FROM (\(list("o")))"
        }
        /// The insert, update and delete triggers of a table of rows about a person (`candidate_id`): `only`
        /// filters the rows that count, `changed` the updated ones (every update counts without it).
        func linked(
            _ what: String, _ table: String, only: String = "", changed: String? = nil, work: String
        ) -> [PostgresTrigger] {
            let updated =
                changed.map { "SELECT n.candidate_id FROM \($0) UNION SELECT o.candidate_id FROM \($0)" }
                ?? "SELECT candidate_id FROM new_rows UNION SELECT candidate_id FROM old_rows"
            return [
                ("insert", "INSERT", "SELECT candidate_id FROM new_rows \(only)"), ("update", "UPDATE", updated),
                ("delete", "DELETE", "SELECT candidate_id FROM old_rows \(only)"),
            ].map {
                PostgresTrigger(
                    name: "candidate_facts_\(what)_\($0.0)", table: table, event: $0.1, people: $0.2, work: work)
            }
        }
        /// A tag link only changes the tags: rewriting that column is a far smaller statement to plan and run
        /// than a rebuild (an import writes three links a person, one statement each).
        let tags = """
            UPDATE candidate_facts f SET tags = COALESCE((SELECT \(aggregatedList("LOWER(t.name)")) \
            FROM \(tagLinks(of: "f.id"))), '') WHERE f.id = ANY(people);
            """
        /// A search entry only changes the search words.
        let searched = "UPDATE candidate_facts f SET search = \(searchWords(of: "f.id")) WHERE f.id = ANY(people);"
        return [
            PostgresTrigger(
                name: "candidate_facts_person_insert", table: "candidates", event: "INSERT",
                people: "SELECT id FROM new_rows", work: rebuild),
            PostgresTrigger(
                name: "candidate_facts_person_update", table: "candidates", event: "UPDATE",
                people: "SELECT n.id FROM \(changed(personColumns))",
                work: "DELETE FROM candidate_facts WHERE id = ANY(people);" + rebuild),
            PostgresTrigger(
                name: "candidate_facts_person_delete", table: "candidates", event: "DELETE",
                people: "SELECT id FROM old_rows",
                work: "DELETE FROM candidate_facts WHERE id = ANY(people);"),
        ] + linked("application", "applications", changed: changed(applicationColumns), work: rebuild)
            + linked("consent", "consent_states", only: "WHERE series = ''", work: rebuild)
            + [
                PostgresTrigger(
                    name: "candidate_facts_job", table: "jobs", event: "UPDATE",
                    people: """
                        SELECT a.candidate_id FROM applications a WHERE a.job_id IN \
                        (SELECT n.id FROM \(changed(["department", "location"])))
                        """,
                    work: rebuild),
                PostgresTrigger(
                    name: "candidate_facts_stage", table: "stages", event: "UPDATE",
                    people: """
                        SELECT a.candidate_id FROM applications a WHERE a.stage_id IN \
                        (SELECT n.id FROM \(changed(["kind"])))
                        """,
                    work: rebuild),
                PostgresTrigger(
                    name: "candidate_facts_tag_renamed", table: "tags", event: "UPDATE",
                    people: """
                        SELECT ct.candidate_id FROM candidate_tags ct WHERE ct.tag_id IN \
                        (SELECT n.id FROM \(changed(["name"])))
                        """,
                    work: tags),
            ] + linked("tag", "candidate_tags", work: tags)
            + (revised ? linked("search", "candidate_search", work: searched) : [])
    }
}
