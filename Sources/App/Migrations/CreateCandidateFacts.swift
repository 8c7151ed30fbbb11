import Fluent
import SQLKit
import VivierCore

/// One narrow row per person holding what segments ask about them that lives in other tables or in a wide row:
/// whether they can be written to, their language, last active contact, places, the outcomes, sources, departments
/// and stage kinds of their applications, when they first and last applied, and their current consent per purpose.
/// A segment over a million people is then one pass over a narrow table (or index probes into it), instead of
/// lists of hundreds of thousands of applications joined to the people one by one.
///
/// Triggers keep every row right whatever writes the tables (the app, an import, a bulk load): each change to a
/// person, an application, a current consent, a job's department or place, or a stage's kind rebuilds the rows of
/// the people it touches from the source tables, with the same statement that fills the table here.
struct CreateCandidateFacts: AsyncMigration {
    static let schema = "candidate_facts"

    /// The column holding the current consent (to every newsletter, for `newsletter`) for a purpose.
    static func consentColumn(_ purpose: ConsentPurpose) -> String { "consent_" + purpose.rawValue }

    /// Lists (departments, outcomes…) are their values between separators, the ASCII unit separator, which no
    /// value typed in a form holds: `\u{1F}tech\u{1F}data\u{1F}`. A value is in a list when its separated form is.
    static func separator(postgres: Bool) -> String { postgres ? "chr(31)" : "char(31)" }

    /// `list` holds `value` (an SQL expression each).
    static func contains(_ list: String, _ value: String, postgres: Bool) -> String {
        let separator = separator(postgres: postgres)
        let needle = "\(separator) || \(value) || \(separator)"
        return postgres ? "strpos(\(list), \(needle)) > 0" : "instr(\(list), \(needle)) > 0"
    }

    /// The facts of the people `c` of `FROM candidates c WHERE <where>`, in the table's column order.
    static func select(where condition: String, postgres: Bool) -> String {
        let separator = separator(postgres: postgres)
        /// Empty (never NULL) without applications, so that a negated condition on it holds.
        func list(_ value: String, from: String) -> String {
            postgres
                ? """
                COALESCE((SELECT \(separator) || string_agg(DISTINCT \(value), \(separator)) || \(separator)
                  FROM \(from) WHERE a.candidate_id = c.id), '')
                """
                : """
                COALESCE((SELECT \(separator) || group_concat(v, \(separator)) || \(separator)
                  FROM (SELECT DISTINCT \(value) AS v FROM \(from) WHERE a.candidate_id = c.id)), '')
                """
        }
        let jobs = "applications a JOIN jobs j ON j.id = a.job_id"
        let consents = ConsentPurpose.allCases.map {
            """
            (SELECT s.action FROM consent_states s WHERE s.candidate_id = c.id AND s.purpose = '\($0.rawValue)'
              AND s.series = '' ORDER BY s.at DESC LIMIT 1)
            """
        }
        let columns =
            [
                "c.id", "c.merged_into_id IS NULL AND c.email <> ''", "c.language",
                "COALESCE(c.last_active_contact_at, c.created_at)",
                "COALESCE(LOWER(c.location), '') || \(list("LOWER(j.location)", from: jobs))",
                list("a.outcome", from: "applications a"), list("a.source", from: "applications a"),
                list("LOWER(j.department)", from: jobs),
                list("st.kind", from: "applications a JOIN stages st ON st.id = a.stage_id"),
                "(SELECT MIN(a.created_at) FROM applications a WHERE a.candidate_id = c.id)",
                "(SELECT MAX(a.created_at) FROM applications a WHERE a.candidate_id = c.id)",
            ] + consents
        return "SELECT \(columns.joined(separator: ",\n  ")) FROM candidates c WHERE \(condition)"
    }

    /// Rebuilds the rows of the people `c` of `FROM candidates c WHERE <where>`.
    static func refresh(where condition: String, ids: String, postgres: Bool) -> String {
        """
        DELETE FROM candidate_facts WHERE id IN (\(ids));
        INSERT INTO candidate_facts \(select(where: condition, postgres: postgres));
        """
    }

    func prepare(on database: any Database) async throws {
        let sql = database.sql()
        let postgres = database.isPostgres
        let consents = ConsentPurpose.allCases.map { "\(Self.consentColumn($0)) TEXT" }
        // The types of the source columns, whose affinity SQLite compares with: an id typed otherwise than the
        // ids it is compared with cannot be looked up by its key.
        let (id, flag, date) = postgres ? ("uuid", "BOOLEAN", "TIMESTAMPTZ") : ("UUID", "INTEGER", "REAL")
        try await sql.raw(
            """
            CREATE TABLE candidate_facts (
              id \(unsafeRaw: id) NOT NULL PRIMARY KEY, reachable \(unsafeRaw: flag) NOT NULL, language TEXT NOT NULL,
              active_at \(unsafeRaw: date), places TEXT NOT NULL, outcomes TEXT NOT NULL, sources TEXT NOT NULL,
              departments TEXT NOT NULL, stages TEXT NOT NULL, first_applied_at \(unsafeRaw: date),
              last_applied_at \(unsafeRaw: date),
              \(unsafeRaw: consents.joined(separator: ", "))
            )\(unsafeRaw: postgres ? "" : " WITHOUT ROWID")
            """
        ).run()
        try await sql.raw(
            "INSERT INTO candidate_facts \(unsafeRaw: Self.select(where: "1 = 1", postgres: postgres))"
        ).run()
        for statement in postgres ? Self.postgresTriggers : Self.sqliteTriggers {
            try await sql.raw("\(unsafeRaw: statement)").run()
        }
    }

    func revert(on database: any Database) async throws {
        let sql = database.sql()
        if database.isPostgres {
            for (trigger, table) in Self.postgresTriggerTables {
                try await sql.raw("DROP TRIGGER \(unsafeRaw: trigger) ON \(unsafeRaw: table)").run()
            }
            for function in [
                "candidate_facts_person", "candidate_facts_rows", "candidate_facts_job",
                "candidate_facts_stage", "candidate_facts_refresh",
            ] {
                try await sql.raw("DROP FUNCTION \(unsafeRaw: function)").run()
            }
        } else {
            for trigger in Self.sqliteTriggerNames {
                try await sql.raw("DROP TRIGGER \(unsafeRaw: trigger)").run()
            }
        }
        try await sql.raw("DROP TABLE candidate_facts").run()
    }

    /// The columns of a person that facts are made of.
    static let personColumns = "email, merged_into_id, language, location, last_active_contact_at, created_at"
    static let applicationColumns = "candidate_id, job_id, stage_id, outcome, source, created_at"

    static let sqliteTriggerNames = [
        "candidate_facts_person_insert", "candidate_facts_person_update", "candidate_facts_person_delete",
        "candidate_facts_application_insert", "candidate_facts_application_update",
        "candidate_facts_application_moved", "candidate_facts_application_delete", "candidate_facts_consent_insert",
        "candidate_facts_consent_update",
        "candidate_facts_consent_delete", "candidate_facts_job", "candidate_facts_stage",
    ]

    static var sqliteTriggers: [String] {
        func one(_ id: String) -> String { refresh(where: "c.id = \(id)", ids: id, postgres: false) }
        func everyoneOn(_ column: String) -> String {
            let ids = "SELECT a.candidate_id FROM applications a WHERE a.\(column) = NEW.id"
            return refresh(where: "c.id IN (\(ids))", ids: ids, postgres: false)
        }
        return [
            "CREATE TRIGGER candidate_facts_person_insert AFTER INSERT ON candidates BEGIN \(one("NEW.id")) END",
            """
            CREATE TRIGGER candidate_facts_person_update AFTER UPDATE OF \(personColumns) ON candidates
            BEGIN \(one("NEW.id")) END
            """,
            """
            CREATE TRIGGER candidate_facts_person_delete AFTER DELETE ON candidates
            BEGIN DELETE FROM candidate_facts WHERE id = OLD.id; END
            """,
            """
            CREATE TRIGGER candidate_facts_application_insert AFTER INSERT ON applications
            BEGIN \(one("NEW.candidate_id")) END
            """,
            """
            CREATE TRIGGER candidate_facts_application_update AFTER UPDATE OF \(applicationColumns) ON applications
            BEGIN \(one("NEW.candidate_id")) END
            """,
            """
            CREATE TRIGGER candidate_facts_application_moved AFTER UPDATE OF candidate_id ON applications
            WHEN OLD.candidate_id <> NEW.candidate_id BEGIN \(one("OLD.candidate_id")) END
            """,
            """
            CREATE TRIGGER candidate_facts_application_delete AFTER DELETE ON applications
            BEGIN \(one("OLD.candidate_id")) END
            """,
            """
            CREATE TRIGGER candidate_facts_consent_insert AFTER INSERT ON consent_states WHEN NEW.series = ''
            BEGIN \(one("NEW.candidate_id")) END
            """,
            """
            CREATE TRIGGER candidate_facts_consent_update AFTER UPDATE ON consent_states
            BEGIN \(one("OLD.candidate_id")) \(one("NEW.candidate_id")) END
            """,
            """
            CREATE TRIGGER candidate_facts_consent_delete AFTER DELETE ON consent_states WHEN OLD.series = ''
            BEGIN \(one("OLD.candidate_id")) END
            """,
            """
            CREATE TRIGGER candidate_facts_job AFTER UPDATE OF department, location ON jobs
            BEGIN \(everyoneOn("job_id")) END
            """,
            "CREATE TRIGGER candidate_facts_stage AFTER UPDATE OF kind ON stages BEGIN \(everyoneOn("stage_id")) END",
        ]
    }

    static let postgresTriggerTables = [
        ("candidate_facts_person", "candidates"), ("candidate_facts_application", "applications"),
        ("candidate_facts_consent", "consent_states"), ("candidate_facts_job", "jobs"),
        ("candidate_facts_stage", "stages"),
    ]

    /// Each statement is planned with the call's own people (`force_custom_plan`): a generic plan for "the people
    /// in this array" reads every person.
    static var postgresTriggers: [String] {
        func function(_ name: String, _ body: String) -> String {
            """
            CREATE FUNCTION \(name)() RETURNS trigger LANGUAGE plpgsql SET plan_cache_mode = force_custom_plan AS $$
            BEGIN \(body) RETURN NULL; END $$
            """
        }
        let refresh = """
            CREATE FUNCTION candidate_facts_refresh(people uuid[]) RETURNS void LANGUAGE plpgsql
            SET plan_cache_mode = force_custom_plan AS $$
            BEGIN \(refresh(where: "c.id = ANY(people)", ids: "SELECT unnest(people)", postgres: true)) END $$
            """
        return [
            refresh,
            function(
                "candidate_facts_person",
                """
                IF TG_OP = 'DELETE' THEN DELETE FROM candidate_facts WHERE id = OLD.id;
                ELSE PERFORM candidate_facts_refresh(ARRAY[NEW.id]); END IF;
                """),
            function(
                "candidate_facts_rows",
                """
                IF TG_OP = 'DELETE' THEN PERFORM candidate_facts_refresh(ARRAY[OLD.candidate_id]);
                ELSIF TG_OP = 'INSERT' THEN PERFORM candidate_facts_refresh(ARRAY[NEW.candidate_id]);
                ELSE PERFORM candidate_facts_refresh(ARRAY[OLD.candidate_id, NEW.candidate_id]); END IF;
                """),
            function(
                "candidate_facts_job",
                "PERFORM candidate_facts_refresh(ARRAY(SELECT candidate_id FROM applications WHERE job_id = NEW.id));"
            ),
            function(
                "candidate_facts_stage",
                "PERFORM candidate_facts_refresh(ARRAY(SELECT candidate_id FROM applications WHERE stage_id = NEW.id));"
            ),
            """
            CREATE TRIGGER candidate_facts_person AFTER INSERT OR DELETE OR UPDATE OF \(personColumns) ON candidates
            FOR EACH ROW EXECUTE FUNCTION candidate_facts_person()
            """,
            """
            CREATE TRIGGER candidate_facts_application AFTER INSERT OR DELETE OR UPDATE OF \(applicationColumns)
            ON applications FOR EACH ROW EXECUTE FUNCTION candidate_facts_rows()
            """,
            """
            CREATE TRIGGER candidate_facts_consent AFTER INSERT OR DELETE OR UPDATE ON consent_states
            FOR EACH ROW EXECUTE FUNCTION candidate_facts_rows()
            """,
            """
            CREATE TRIGGER candidate_facts_job AFTER UPDATE OF department, location ON jobs
            FOR EACH ROW EXECUTE FUNCTION candidate_facts_job()
            """,
            """
            CREATE TRIGGER candidate_facts_stage AFTER UPDATE OF kind ON stages
            FOR EACH ROW EXECUTE FUNCTION candidate_facts_stage()
            """,
        ]
    }
}
