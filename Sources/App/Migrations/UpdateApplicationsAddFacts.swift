import Fluent
import SQLKit

/// What the indicators need to know about each application, kept on the application itself by the database: when
/// the acknowledgement left, the first decision, the first human message queued (a promise answered), whether the
/// candidate was marked unresponsive, whether they were in the talent pool when they applied. Triggers keep them
/// right whatever writes the rows (the app, an import, a bulk load), and they survive the erasure of the timeline
/// and the outbox, so anonymous statistics stay right. A million applications are then read from one index instead
/// of being joined to their messages and timeline one by one.
struct UpdateApplicationsAddFacts: AsyncMigration {
    static let dates = ["acknowledged_at", "first_decision_at", "answered_at", "unresponsive_at"]

    /// Every column the dashboard reads from an application, so that its scans never touch the table; in the
    /// order of its grouping (channel, stage, outcome), so that the engine reads the groups one after the other
    /// (on SQLite, skipping to each group's period) instead of sorting a million rows.
    static let index =
        [
            "source", "stage_id", "outcome", "created_at", "job_id", "decided_at", "promised_by", "from_pool",
        ] + dates

    /// The delays whose median and 90th percentile the dashboard shows, each in an index in its own order: the
    /// element of rank k is then the k-th entry of the period, read without sorting anything.
    struct Delay {
        var name: String
        /// From `created_at` to this column, for the applications where `condition` holds.
        var column: String
        var condition: String
    }

    static let acknowledgement = Delay(
        name: "applications_ack_delay", column: "acknowledged_at", condition: "acknowledged_at IS NOT NULL")
    static let firstDecision = Delay(
        name: "applications_decision_delay", column: "first_decision_at", condition: "first_decision_at IS NOT NULL")
    static let rejection = Delay(
        name: "applications_reject_delay", column: "decided_at",
        condition: "outcome = 'rejected' AND decided_at IS NOT NULL")
    static let hire = Delay(
        name: "applications_hire_delay", column: "decided_at", condition: "outcome = 'hired' AND decided_at IS NOT NULL"
    )
    static let delays = [acknowledgement, firstDecision, rejection, hire]

    func prepare(on database: any Database) async throws {
        for column in Self.dates {
            try await database.schema(JobApplication.schema).field(.string(column), .datetime).update()
        }
        try await database.schema(JobApplication.schema)
            .field("from_pool", .bool, .required, .sql(.default(false))).update()
        let sql = database.sql()
        for statement in database.isPostgres ? Self.postgres : Self.sqlite { try await sql.raw(statement).run() }
        for statement in Self.backfill(database) { try await sql.raw(statement).run() }
        try await database.createIndex("applications_facts", on: JobApplication.schema, columns: Self.index)
        for delay in Self.delays {
            let seconds = Indicators.seconds(from: "created_at", to: delay.column, postgres: database.isPostgres)
            try await sql.raw(
                """
                CREATE INDEX \(unsafeRaw: delay.name) ON applications ((\(unsafeRaw: seconds)), created_at, job_id)
                WHERE \(unsafeRaw: delay.condition)
                """
            ).run()
        }
        try await database.createIndex(
            "applications_waiting", on: JobApplication.schema,
            columns: ["outcome", "job_id", "stage_entered_at", "stage_id"])
        try await database.createIndex(
            "consent_events_period", on: ConsentEvent.schema,
            columns: ["purpose", "action", "candidate_id", "created_at"])
        // The current consents, widened to also answer "since when" (pool terms ending): one index for the
        // segments and the dashboard, instead of a second one the planner would take for the segments' joins.
        try await sql.raw("DROP INDEX IF EXISTS consent_states_purpose").run()
        try await database.createIndex(
            "consent_states_purpose", on: ConsentState.schema,
            columns: ["purpose", "action", "candidate_id", "series", "at"])
        for (name, table, column, condition) in Self.partialIndexes {
            try await sql.raw(
                "CREATE INDEX \(unsafeRaw: name) ON \(unsafeRaw: table) (\(unsafeRaw: column)) WHERE \(unsafeRaw: condition)"
            ).run()
        }
    }

    /// The few rows of a big table that the dashboard reads by date.
    static let partialIndexes = [
        ("outbox_surveys", "outbox", "created_at", "kind = 'satisfaction_survey'"),
        ("outbox_campaign_messages", "outbox", "created_at", "campaign_id IS NOT NULL"),
        ("interactions_replies", "interactions", "created_at", "kind = 'reply'"),
        ("campaign_events_clicks", "campaign_events", "at", "kind = 'click'"),
    ]

    func revert(on database: any Database) async throws {
        let sql = database.sql()
        for index in ["applications_facts", "applications_waiting", "consent_events_period", "consent_states_purpose"]
            + Self.partialIndexes.map(\.0) + Self.delays.map(\.name)
        {
            try await sql.raw("DROP INDEX IF EXISTS \(ident: index)").run()
        }
        try await database.createIndex(
            "consent_states_purpose", on: ConsentState.schema, columns: ["purpose", "action", "candidate_id"])
        if database.isPostgres {
            for (trigger, table) in [
                ("facts_outbox", "outbox"), ("facts_interactions", "interactions"),
                ("facts_from_pool", "applications"), ("facts_consent", "consent_events"),
            ] {
                try await sql.raw("DROP TRIGGER \(unsafeRaw: trigger) ON \(unsafeRaw: table)").run()
                try await sql.raw("DROP FUNCTION \(unsafeRaw: trigger)()").run()
            }
        } else {
            for trigger in Self.sqliteTriggers {
                try await sql.raw("DROP TRIGGER IF EXISTS \(unsafeRaw: trigger)").run()
            }
        }
        for column in Self.dates + ["from_pool"] {
            try await database.schema(JobApplication.schema).deleteField(.string(column)).update()
        }
    }

    /// Messages a person writes (not the automatic ones): the first one queued answers the promise.
    static var human: String { MessageKind.automatic.map { "'\($0)'" }.joined(separator: ", ") }
    static let decisions = "'stage_changed', 'rejected', 'withdrawn'"
    static let poolActions = "'granted', 'confirmed', 'renewed'"

    static let sqliteTriggers = [
        "facts_acknowledged_insert", "facts_acknowledged_update", "facts_answered_insert", "facts_answered_update",
        "facts_first_decision", "facts_unresponsive", "facts_from_pool_application", "facts_from_pool_moved",
        "facts_from_pool_consent",
    ]

    static var sqlite: [SQLQueryString] {
        let acknowledged = """
            BEGIN UPDATE applications SET acknowledged_at = NEW.sent_at WHERE id = NEW.application_id
              AND (acknowledged_at IS NULL OR acknowledged_at > NEW.sent_at); END
            """
        let fromPool = """
            BEGIN UPDATE applications SET from_pool = EXISTS (SELECT 1 FROM consent_events e
              WHERE e.candidate_id = NEW.candidate_id AND e.purpose = 'talent_pool'
              AND e.action IN (\(poolActions)) AND e.created_at < NEW.created_at) WHERE id = NEW.id; END
            """
        return [
            """
            CREATE TRIGGER facts_acknowledged_insert AFTER INSERT ON outbox WHEN NEW.application_id IS NOT NULL
              AND NEW.kind = 'acknowledgement' AND NEW.status = 'sent' \(unsafeRaw: acknowledged)
            """,
            """
            CREATE TRIGGER facts_acknowledged_update AFTER UPDATE OF status ON outbox
            WHEN NEW.application_id IS NOT NULL AND NEW.kind = 'acknowledgement' AND NEW.status = 'sent'
            \(unsafeRaw: acknowledged)
            """,
            """
            CREATE TRIGGER facts_answered_insert AFTER INSERT ON outbox WHEN NEW.application_id IS NOT NULL
              AND NEW.kind NOT IN (\(unsafeRaw: human)) AND NEW.status <> 'cancelled'
            BEGIN UPDATE applications SET answered_at = NEW.created_at WHERE id = NEW.application_id
              AND (answered_at IS NULL OR answered_at > NEW.created_at); END
            """,
            """
            CREATE TRIGGER facts_answered_update AFTER UPDATE OF status ON outbox
            WHEN NEW.application_id IS NOT NULL AND NEW.kind NOT IN (\(unsafeRaw: human))
              AND (OLD.status = 'cancelled') <> (NEW.status = 'cancelled')
            BEGIN UPDATE applications SET answered_at = (SELECT MIN(o.created_at) FROM outbox o
              WHERE o.application_id = NEW.application_id AND o.kind NOT IN (\(unsafeRaw: human))
              AND o.status <> 'cancelled') WHERE id = NEW.application_id; END
            """,
            """
            CREATE TRIGGER facts_first_decision AFTER INSERT ON interactions
            WHEN NEW.application_id IS NOT NULL AND NEW.kind IN (\(unsafeRaw: decisions))
            BEGIN UPDATE applications SET first_decision_at = NEW.created_at WHERE id = NEW.application_id
              AND (first_decision_at IS NULL OR first_decision_at > NEW.created_at); END
            """,
            """
            CREATE TRIGGER facts_unresponsive AFTER INSERT ON interactions
            WHEN NEW.application_id IS NOT NULL AND NEW.kind = 'marked_unresponsive'
            BEGIN UPDATE applications SET unresponsive_at = NEW.created_at WHERE id = NEW.application_id
              AND unresponsive_at IS NULL; END
            """,
            "CREATE TRIGGER facts_from_pool_application AFTER INSERT ON applications \(unsafeRaw: fromPool)",
            """
            CREATE TRIGGER facts_from_pool_moved AFTER UPDATE OF candidate_id, created_at ON applications
            \(unsafeRaw: fromPool)
            """,
            """
            CREATE TRIGGER facts_from_pool_consent AFTER INSERT ON consent_events
            WHEN NEW.purpose = 'talent_pool' AND NEW.action IN (\(unsafeRaw: poolActions))
            BEGIN UPDATE applications SET from_pool = COALESCE(created_at > NEW.created_at, 0)
              WHERE candidate_id = NEW.candidate_id AND from_pool = 0; END
            """,
        ]
    }

    /// Each trigger's statements are planned with the row's own values. A person's applications are found by the
    /// person alone (the date is compared in the SET): without statistics, just after a bulk load, the planner
    /// combined the person's index with the date index — a million entries for every consent written.
    static var postgres: [SQLQueryString] {
        func trigger(_ name: String, _ timing: String, _ table: String, when: String, body: String) -> [SQLQueryString]
        {
            [
                """
                CREATE FUNCTION \(unsafeRaw: name)() RETURNS trigger LANGUAGE plpgsql
                SET plan_cache_mode = force_custom_plan AS $$
                BEGIN \(unsafeRaw: body) END $$
                """,
                """
                CREATE TRIGGER \(unsafeRaw: name) \(unsafeRaw: timing) ON \(unsafeRaw: table) FOR EACH ROW
                WHEN (\(unsafeRaw: when)) EXECUTE FUNCTION \(unsafeRaw: name)()
                """,
            ]
        }
        return trigger(
            "facts_outbox", "AFTER INSERT OR UPDATE OF status", "outbox", when: "NEW.application_id IS NOT NULL",
            body: """
                IF NEW.kind = 'acknowledgement' AND NEW.status = 'sent' THEN
                  UPDATE applications SET acknowledged_at = NEW.sent_at WHERE id = NEW.application_id
                    AND (acknowledged_at IS NULL OR acknowledged_at > NEW.sent_at);
                END IF;
                IF NEW.kind NOT IN (\(human)) THEN
                  IF TG_OP = 'INSERT' AND NEW.status <> 'cancelled' THEN
                    UPDATE applications SET answered_at = NEW.created_at WHERE id = NEW.application_id
                      AND (answered_at IS NULL OR answered_at > NEW.created_at);
                  ELSIF TG_OP = 'UPDATE' AND (OLD.status = 'cancelled') <> (NEW.status = 'cancelled') THEN
                    UPDATE applications SET answered_at = (SELECT MIN(o.created_at) FROM outbox o
                      WHERE o.application_id = NEW.application_id AND o.kind NOT IN (\(human))
                      AND o.status <> 'cancelled') WHERE id = NEW.application_id;
                  END IF;
                END IF;
                RETURN NULL;
                """)
            + trigger(
                "facts_interactions", "AFTER INSERT", "interactions",
                when: "NEW.application_id IS NOT NULL AND NEW.kind IN (\(decisions), 'marked_unresponsive')",
                body: """
                    IF NEW.kind = 'marked_unresponsive' THEN
                      UPDATE applications SET unresponsive_at = NEW.created_at WHERE id = NEW.application_id
                        AND unresponsive_at IS NULL;
                    ELSE
                      UPDATE applications SET first_decision_at = NEW.created_at WHERE id = NEW.application_id
                        AND (first_decision_at IS NULL OR first_decision_at > NEW.created_at);
                    END IF;
                    RETURN NULL;
                    """)
            + trigger(
                "facts_from_pool", "BEFORE INSERT OR UPDATE OF candidate_id, created_at", "applications", when: "TRUE",
                body: """
                    NEW.from_pool := EXISTS (SELECT 1 FROM consent_events e WHERE e.candidate_id = NEW.candidate_id
                      AND e.purpose = 'talent_pool' AND e.action IN (\(poolActions))
                      AND e.created_at < NEW.created_at);
                    RETURN NEW;
                    """)
            + trigger(
                "facts_consent", "AFTER INSERT", "consent_events",
                when: "NEW.purpose = 'talent_pool' AND NEW.action IN (\(poolActions))",
                body: """
                    UPDATE applications SET from_pool = COALESCE(created_at > NEW.created_at, FALSE)
                      WHERE candidate_id = NEW.candidate_id AND NOT from_pool;
                    RETURN NULL;
                    """)
    }

    /// The facts of the applications already there, from their messages, timeline and the ledger.
    static func backfill(_ database: any Database) -> [SQLQueryString] {
        let yes = database.isPostgres ? "TRUE" : "1"
        return [
            """
            UPDATE applications SET
              acknowledged_at = (SELECT MIN(o.sent_at) FROM outbox o WHERE o.application_id = applications.id
                AND o.kind = 'acknowledgement' AND o.status = 'sent'),
              answered_at = (SELECT MIN(o.created_at) FROM outbox o WHERE o.application_id = applications.id
                AND o.kind NOT IN (\(unsafeRaw: human)) AND o.status <> 'cancelled'),
              first_decision_at = (SELECT MIN(i.created_at) FROM interactions i
                WHERE i.application_id = applications.id AND i.kind IN (\(unsafeRaw: decisions))),
              unresponsive_at = (SELECT MIN(i.created_at) FROM interactions i
                WHERE i.application_id = applications.id AND i.kind = 'marked_unresponsive')
            """,
            """
            UPDATE applications SET from_pool = \(unsafeRaw: yes) WHERE EXISTS (SELECT 1 FROM consent_events e
              WHERE e.candidate_id = applications.candidate_id AND e.purpose = 'talent_pool'
              AND e.action IN (\(unsafeRaw: poolActions)) AND e.created_at < applications.created_at)
            """,
        ]
    }
}
