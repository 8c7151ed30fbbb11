import Fluent
import Vapor
import VivierCore

/// The dashboard of indicators: a period (30, 90, 365 days or custom) and a scope (company, department, job,
/// recruiter; a hiring manager sees only their jobs), each indicator with its value, its trend against the
/// previous period, its definition, an accessible SVG chart, and every table as CSV.
struct IndicatorsController {
    struct Filters {
        var period: Indicators.Period
        var scope: Indicators.Scope
        var periodKey: String
        var scopeKey: String
        var from: String
        var to: String
    }

    /// Reads the filters, restricting the scope to the user's jobs for a hiring manager.
    func filters(_ req: Request) async throws -> Filters {
        let access = try await Access.of(req)
        let periodKey = req.query[String.self, at: "period"] ?? "90"
        var end = req.now
        var start = end - 90 * 86_400
        var from = "", to = ""
        if let days = Int(periodKey), [30, 90, 365].contains(days) {
            start = end - Double(days) * 86_400
        } else if periodKey == "custom" {
            from = req.query[String.self, at: "from"] ?? ""
            to = req.query[String.self, at: "to"] ?? ""
            guard let first = InterviewController.parse(date: from, time: "00:00", in: Dates.zone),
                let last = InterviewController.parse(date: to, time: "00:00", in: Dates.zone), last >= first,
                last.timeIntervalSince(first) <= 5 * 366 * 86_400
            else { throw Abort(.unprocessableEntity, reason: req.t("indicators.error_dates")) }
            start = first
            end = last + 86_400
        }
        let scopeKey = req.query[String.self, at: "scope"] ?? "company"
        var scope: Indicators.Scope = .company
        let parts = scopeKey.split(separator: ":", maxSplits: 1).map(String.init)
        switch (parts.first, parts.count == 2 ? parts[1] : nil) {
        case ("department", let name?): scope = .department(name)
        case ("job", let id?):
            guard let uuid = UUID(uuidString: id) else { throw Abort(.notFound) }
            _ = try await access.job(uuid, on: req.db)
            scope = .job(uuid)
        case ("recruiter", let id?):
            guard let uuid = UUID(uuidString: id) else { throw Abort(.notFound) }
            scope = .jobs(try await JobMember.query(on: req.db).filter(\.$user.$id == uuid).all().map(\.$job.id))
        default: break
        }
        if let mine = access.jobIDs {
            // A hiring manager's every scope is cut down to their own jobs.
            switch scope {
            case .job: break
            default: scope = .jobs(Array(mine))
            }
        }
        return Filters(
            period: .init(start: start, end: end), scope: scope, periodKey: periodKey, scopeKey: scopeKey, from: from,
            to: to)
    }

    struct Card: Encodable {
        var key: String
        var label: String
        var value: String
        var previous: String
        var trend: String
        var definition: String
    }

    struct Table: Encodable {
        var key: String
        var title: String
        var headers: [String]
        var rows: [[String]]
        var chart: String
        var csvURL: String
    }

    struct Content: Encodable {
        var cards: [Card]
        var tables: [Table]
        var periods: [Choice]
        var scopes: [Choice]
        var custom: Bool
        var from: String
        var to: String
        var comments: [String]
        var commentsHidden: Bool
        var query: String
    }

    @Sendable func show(req: Request) async throws -> Response {
        let filters = try await filters(req)
        let now = req.now
        let current = Indicators(db: req.db, period: filters.period, scope: filters.scope, now: now)
        let before = Indicators(db: req.db, period: filters.period.previous, scope: filters.scope, now: now)
        let language = req.language

        func percent(_ part: Int, _ whole: Int) -> String {
            whole == 0
                ? "—"
                : (Double(part) / Double(whole)).formatted(
                    .percent.precision(.fractionLength(0)).locale(language.locale))
        }
        func days(_ seconds: Double?) -> String {
            guard let seconds else { return "—" }
            let value = seconds / 86_400
            if seconds < 3600 {
                return String(format: req.t("indicators.minutes"), max(Int((seconds / 60).rounded(.up)), 1))
            }
            return value < 1
                ? String(format: req.t("indicators.hours"), Int((seconds / 3600).rounded(.up)))
                : req.t("indicators.days").replacingOccurrences(
                    of: "%@", with: value.formatted(.number.precision(.fractionLength(1)).locale(language.locale)))
        }
        func trend(_ now: Double?, _ then: Double?, higherIsBetter: Bool) -> String {
            guard let now, let then, now != then else { return "flat" }
            return (now > then) == higherIsBetter ? "better" : "worse"
        }

        let summary = try await current.summary(), summaryBefore = try await before.summary()
        let coverage = summary.coverage, coverageBefore = summaryBefore.coverage
        let covered = coverage.reduce(0) { $0 + $1.acknowledged }, total = coverage.reduce(0) { $0 + $1.applications }
        let coveredBefore = coverageBefore.reduce(0) { $0 + $1.acknowledged }
        let totalBefore = coverageBefore.reduce(0) { $0 + $1.applications }
        let ack = try await current.timeToAcknowledge(), ackBefore = try await before.timeToAcknowledge()
        let promises = summary.promises, promisesBefore = summaryBefore.promises
        let first = try await current.timeToFirstDecision(), firstBefore = try await before.timeToFirstDecision()
        let reject = try await current.timeToReject(), rejectBefore = try await before.timeToReject()
        let waiting = try await current.waitingPastDeadline()
        let ghosting = summary.ghosting, ghostingBefore = summaryBefore.ghosting
        let funnel = summary.funnel
        let sources = summary.sources
        let hire = try await current.timeToHire()
        let satisfaction = try await current.satisfaction(), satisfactionBefore = try await before.satisfaction()
        let noShows = try await current.noShows(), noShowsBefore = try await before.noShows()
        let pool = try await current.pool()
        let waitingSeries = try await current.waitingOverTime()
        let movement = try await current.poolMovement()
        // Campaigns are the company's, not a job's: shown to those who run them, not to hiring managers.
        let seesCampaigns = try req.requireUser().canManage
        let bySeries = seesCampaigns ? try await current.campaignsBySeries() : []
        let bySegment = seesCampaigns ? try await current.campaignsBySegment() : []
        func share(_ a: Int, _ b: Int) -> Double? { b == 0 ? nil : Double(a) / Double(b) }
        let ghosted = ghosting.reduce(0) { $0 + $1.unresponsive },
            ghostTotal = ghosting.reduce(0) { $0 + $1.applications }
        let ghostedBefore = ghostingBefore.reduce(0) { $0 + $1.unresponsive }
        let ghostTotalBefore = ghostingBefore.reduce(0) { $0 + $1.applications }

        let cards = [
            Card(
                key: "ack_coverage", label: req.t("indicators.ack_coverage"), value: percent(covered, total),
                previous: percent(coveredBefore, totalBefore),
                trend: trend(share(covered, total), share(coveredBefore, totalBefore), higherIsBetter: true),
                definition: req.t("indicators.ack_coverage_definition")),
            Card(
                key: "ack_time", label: req.t("indicators.ack_time"),
                value: days(ack.median) + " · p90 " + days(ack.p90),
                previous: days(ackBefore.median), trend: trend(ack.median, ackBefore.median, higherIsBetter: false),
                definition: req.t("indicators.ack_time_definition")),
            Card(
                key: "promises", label: req.t("indicators.promises"), value: percent(promises.kept, promises.due),
                previous: percent(promisesBefore.kept, promisesBefore.due),
                trend: trend(
                    share(promises.kept, promises.due), share(promisesBefore.kept, promisesBefore.due),
                    higherIsBetter: true),
                definition: req.t("indicators.promises_definition")),
            Card(
                key: "first_decision", label: req.t("indicators.first_decision"),
                value: days(first.median) + " · p90 " + days(first.p90), previous: days(firstBefore.median),
                trend: trend(first.median, firstBefore.median, higherIsBetter: false),
                definition: req.t("indicators.first_decision_definition")),
            Card(
                key: "reject_time", label: req.t("indicators.reject_time"),
                value: days(reject.median) + " · p90 " + days(reject.p90), previous: days(rejectBefore.median),
                trend: trend(reject.median, rejectBefore.median, higherIsBetter: false),
                definition: req.t("indicators.reject_time_definition")),
            Card(
                key: "waiting", label: req.t("indicators.waiting"), value: "\(waiting)", previous: "—", trend: "flat",
                definition: req.t("indicators.waiting_definition")),
            Card(
                key: "ghosting", label: req.t("indicators.ghosting"), value: percent(ghosted, ghostTotal),
                previous: percent(ghostedBefore, ghostTotalBefore),
                trend: trend(share(ghosted, ghostTotal), share(ghostedBefore, ghostTotalBefore), higherIsBetter: false),
                definition: req.t("indicators.ghosting_definition")),
            Card(
                key: "no_shows", label: req.t("indicators.no_shows"), value: percent(noShows.missed, noShows.held),
                previous: percent(noShowsBefore.missed, noShowsBefore.held),
                trend: trend(
                    share(noShows.missed, noShows.held), share(noShowsBefore.missed, noShowsBefore.held),
                    higherIsBetter: false),
                definition: req.t("indicators.no_shows_definition")),
            Card(
                key: "pool", label: req.t("indicators.pool"), value: "\(pool.consents["talent_pool"] ?? 0)",
                previous: "—", trend: "flat", definition: req.t("indicators.pool_definition")),
            Card(
                key: "nps", label: req.t("indicators.nps"), value: satisfaction.nps.map { "\($0)" } ?? "—",
                previous: satisfactionBefore.nps.map { "\($0)" } ?? "—",
                trend: trend(
                    satisfaction.nps.map(Double.init), satisfactionBefore.nps.map(Double.init), higherIsBetter: true),
                definition: String(
                    format: req.t("indicators.nps_definition"), satisfaction.answers, satisfaction.surveysSent)),
        ]

        let query =
            "period=\(filters.periodKey)&scope=\(filters.scopeKey)&from=\(filters.from)&to=\(filters.to)"
            .addingPercentEncoding(withAllowedCharacters: .urlQueryAllowed) ?? ""
        let csv = { (table: String) in "/app/indicators.csv?table=\(table)&\(query)" }
        let tables =
            [
                Table(
                    key: "decisions", title: req.t("indicators.table_decisions"),
                    headers: [
                        req.t("indicators.col_measure"), req.t("indicators.col_count"), "≤ 3 j", "3–14 j", "> 14 j",
                    ],
                    rows: [
                        [
                            req.t("indicators.first_decision"), "\(first.count)", percent(first.within3, first.count),
                            percent(first.within14, first.count), percent(first.over14, first.count),
                        ],
                        [
                            req.t("indicators.reject_time"), "\(reject.count)", percent(reject.within3, reject.count),
                            percent(reject.within14, reject.count), percent(reject.over14, reject.count),
                        ],
                    ],
                    chart: Chart.bars(
                        title: req.t("indicators.chart_decisions"),
                        bars: [
                            ("≤ 3 j", Double(first.within3)), ("3–14 j", Double(first.within14)),
                            ("> 14 j", Double(first.over14)),
                        ]),
                    csvURL: csv("decisions")),
                Table(
                    key: "waiting", title: req.t("indicators.table_waiting"),
                    headers: [req.t("indicators.col_date"), req.t("indicators.col_applications")],
                    rows: waitingSeries.map { [Dates.day($0.0, language), "\($0.1)"] },
                    chart: Chart.bars(
                        title: req.t("indicators.table_waiting"),
                        bars: waitingSeries.map { (Dates.short($0.0, language), Double($0.1)) }),
                    csvURL: csv("waiting")),
                Table(
                    key: "pool", title: req.t("indicators.table_pool"),
                    headers: [req.t("indicators.col_measure"), req.t("indicators.col_people"), "%"],
                    rows: ConsentPurpose.allCases.map {
                        [
                            req.t("consent.\($0.rawValue)"), "\(pool.consents[$0.rawValue] ?? 0)",
                            percent(pool.consents[$0.rawValue] ?? 0, pool.people),
                        ]
                    } + [
                        [req.t("indicators.pool_expiring"), "\(pool.expiringWithin30Days)", ""],
                        [req.t("indicators.pool_joined"), "\(movement.joined)", ""],
                        [req.t("indicators.pool_left"), "\(movement.left)", ""],
                        [req.t("indicators.pool_reengaged"), "\(movement.reengaged)", ""],
                        [req.t("indicators.pool_reapplied"), "\(summary.reapplied)", ""],
                        [req.t("indicators.pool_hired"), "\(summary.hiredFromPool)", ""],
                    ],
                    chart: Chart.bars(
                        title: req.t("indicators.table_pool"),
                        bars: ConsentPurpose.allCases.map {
                            (req.t("consent.\($0.rawValue)"), Double(pool.consents[$0.rawValue] ?? 0))
                        }),
                    csvURL: csv("pool")),
            ]
            + campaignTables(
                visible: seesCampaigns, bySeries: bySeries, bySegment: bySegment, percent: percent, csv: csv, req) + [
                Table(
                    key: "coverage", title: req.t("indicators.table_coverage"),
                    headers: [
                        req.t("indicators.col_source"), req.t("indicators.col_applications"),
                        req.t("indicators.col_acknowledged"), "%",
                    ],
                    rows: coverage.map {
                        [
                            req.t("source.\($0.source)"), "\($0.applications)", "\($0.acknowledged)",
                            percent($0.acknowledged, $0.applications),
                        ]
                    },
                    chart: Chart.bars(
                        title: req.t("indicators.table_coverage"),
                        bars: coverage.map {
                            (
                                req.t("source.\($0.source)"),
                                $0.applications == 0 ? 0 : Double($0.acknowledged) * 100 / Double($0.applications)
                            )
                        },
                        unit: "%"),
                    csvURL: csv("coverage")),
                Table(
                    key: "funnel", title: req.t("indicators.table_funnel"),
                    headers: [
                        req.t("indicators.col_stage"), req.t("indicators.col_reached"),
                        req.t("indicators.col_conversion"),
                    ],
                    rows: funnel.enumerated().map { index, step in
                        [
                            req.t("kind.\(step.kind)"), "\(step.reached)",
                            index == 0 ? "—" : percent(step.reached, funnel[index - 1].reached),
                        ]
                    },
                    chart: Chart.bars(
                        title: req.t("indicators.table_funnel"),
                        bars: funnel.map { (req.t("kind.\($0.kind)"), Double($0.reached)) }),
                    csvURL: csv("funnel")),
                Table(
                    key: "sources", title: req.t("indicators.table_sources"),
                    headers: [
                        req.t("indicators.col_source"), req.t("indicators.col_applications"),
                        req.t("indicators.col_hired"),
                    ],
                    rows: sources.map { [req.t("source.\($0.source)"), "\($0.applications)", "\($0.hired)"] }
                        + [[req.t("indicators.time_to_hire"), days(hire.median), ""]],
                    chart: Chart.bars(
                        title: req.t("indicators.table_sources"),
                        bars: sources.map { (req.t("source.\($0.source)"), Double($0.applications)) }),
                    csvURL: csv("sources")),
                Table(
                    key: "ghosting", title: req.t("indicators.table_ghosting"),
                    headers: [
                        req.t("indicators.col_stage"), req.t("indicators.col_applications"),
                        req.t("indicators.col_unresponsive"), "%",
                    ],
                    rows: ghosting.map {
                        [
                            req.t("kind.\($0.stage)"), "\($0.applications)", "\($0.unresponsive)",
                            percent($0.unresponsive, $0.applications),
                        ]
                    },
                    chart: Chart.bars(
                        title: req.t("indicators.table_ghosting"),
                        bars: ghosting.map { (req.t("kind.\($0.stage)"), Double($0.unresponsive)) }),
                    csvURL: csv("ghosting")),
            ]
        if req.url.path.hasSuffix(".csv") {
            let key = req.query[String.self, at: "table"] ?? ""
            guard let table = tables.first(where: { $0.key == key }) else { throw Abort(.notFound) }
            return CSV.response(
                headers: table.headers, rows: table.rows,
                filename:
                    "vivier-\(key)-\(filters.periodKey)-\(filters.scopeKey)\(filters.from.isEmpty ? "" : "-\(filters.from)-\(filters.to)").csv"
            )
        }

        let jobs = try await Access.of(req).jobs(on: req.db)
        let departments = Set(jobs.map(\.department)).sorted()
        let recruiters = try await User.query(on: req.db).filter(\.$role ~~ [.recruiter, .admin]).sort(\.$name).all()
        var scopes = [
            Choice(value: "company", label: req.t("indicators.scope_company"), selected: filters.scopeKey == "company")
        ]
        scopes += departments.map {
            Choice(
                value: "department:\($0)", label: "\(req.t("indicators.scope_department")) \($0)",
                selected: filters.scopeKey == "department:\($0)")
        }
        scopes += jobs.map {
            let key = "job:\($0.id?.lowercasedString ?? "")"
            return Choice(
                value: key, label: "\(req.t("indicators.scope_job")) \($0.title)", selected: filters.scopeKey == key)
        }
        if try await Access.of(req).jobIDs == nil {
            scopes += recruiters.map {
                let key = "recruiter:\($0.id?.lowercasedString ?? "")"
                return Choice(
                    value: key, label: "\(req.t("indicators.scope_recruiter")) \($0.name)",
                    selected: filters.scopeKey == key)
            }
        }
        return try await req.page(
            "app/indicators", title: req.t("indicators.title"),
            Content(
                cards: cards, tables: tables,
                periods: ["30", "90", "365", "custom"].map {
                    Choice(value: $0, label: req.t("indicators.period_\($0)"), selected: filters.periodKey == $0)
                },
                scopes: scopes, custom: filters.periodKey == "custom", from: filters.from, to: filters.to,
                comments: satisfaction.comments,
                commentsHidden: satisfaction.answers > 0 && satisfaction.comments.isEmpty,
                query: query))
    }
}

/// Bar charts drawn on the server as SVG: no JavaScript, a title and a description (the data in words) for screen
/// readers, plain fills that print.
enum Chart {
    static func bars(title: String, bars: [(String, Double)], unit: String = "") -> String {
        let width = 600.0, row = 28.0, label = 230.0
        let height = max(Double(bars.count) * row + 10, 40)
        let maximum = max(bars.map(\.1).max() ?? 0, 1)
        let id = "c" + String(Tokens.random(bytes: 6).filter(\.isLetter).prefix(8))
        let description = bars.map { "\($0.0): \(format($0.1))\(unit)" }.joined(separator: ", ")
        var svg = """
            <svg class="chart" role="img" aria-labelledby="\(id)-t \(id)-d" viewBox="0 0 \(Int(width)) \(Int(height))" \
            width="100%" preserveAspectRatio="xMinYMin meet" xmlns="http://www.w3.org/2000/svg">\
            <title id="\(id)-t">\(title.htmlEscaped)</title><desc id="\(id)-d">\(description.htmlEscaped)</desc>
            """
        for (index, bar) in bars.enumerated() {
            let y = Double(index) * row + 5
            let length = (width - label - 60) * bar.1 / maximum
            svg += """
                <text x="\(Int(label - 8))" y="\(Int(y + 17))" text-anchor="end" font-size="13" fill="#1c2430">\(bar.0.htmlEscaped)</text>\
                <rect x="\(Int(label))" y="\(Int(y + 4))" width="\(max(Int(length), 1))" height="18" fill="#1f5f8b"></rect>\
                <text x="\(Int(label + length + 6))" y="\(Int(y + 17))" font-size="13" fill="#1c2430">\(format(bar.1))\(unit.htmlEscaped)</text>
                """
        }
        return svg + "</svg>"
    }

    static func format(_ value: Double) -> String {
        value.rounded() == value ? String(Int(value)) : String(format: "%.1f", value)
    }
}

/// CSV as RFC 4180 says (CRLF, quotes doubled, fields quoted when needed), with cells a spreadsheet would run as a
/// formula (`= + - @`, tab, CR at the start) neutralised by a leading apostrophe.
enum CSV {
    static func field(_ value: String) -> String {
        var value = value
        if let first = value.first, "=+-@\t\r".contains(first) { value = "'" + value }
        if value.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" || $0 == ";" }) {
            return "\"" + value.replacingOccurrences(of: "\"", with: "\"\"") + "\""
        }
        return value
    }

    static func document(headers: [String], rows: [[String]]) -> String {
        ([headers] + rows).map { $0.map(field).joined(separator: ",") }.joined(separator: "\r\n") + "\r\n"
    }

    static func response(headers: [String], rows: [[String]], filename: String) -> Response {
        let response = Response(status: .ok, body: .init(string: document(headers: headers, rows: rows)))
        response.headers.contentType = HTTPMediaType(type: "text", subType: "csv", parameters: ["charset": "utf-8"])
        response.headers.replaceOrAdd(
            name: .contentDisposition,
            value: CandidatesController.attachment(filename.replacingOccurrences(of: ":", with: "-")))
        return response
    }
}

extension IndicatorsController {
    /// Newsletters and campaigns of the period: by series (or kind) and by segment, each with its CSV.
    func campaignTables(
        visible: Bool, bySeries: [Indicators.CampaignLine], bySegment: [Indicators.CampaignLine],
        percent: (Int, Int) -> String, csv: (String) -> String, _ req: Request
    ) -> [Table] {
        let headers = [
            req.t("indicators.col_group"), req.t("campaigns.r_recipients"), req.t("campaigns.r_delivered"),
            req.t("campaigns.r_bounced"), req.t("campaigns.r_clicks"), req.t("campaigns.r_opens"),
            req.t("campaigns.r_unsubscribes"), req.t("campaigns.r_complaints"),
        ]
        // Campaigns outside a series are grouped by kind: shown by the kind's name.
        func label(_ name: String) -> String {
            Campaign.Kind(rawValue: name) != nil ? req.t("campaigns.kind.\(name)") : name
        }
        func rows(_ lines: [Indicators.CampaignLine], kindNames: Bool) -> [[String]] {
            lines.map { line in
                let name = kindNames ? label(line.name) : line.name
                return [
                    name, "\(line.recipients)", "\(line.delivered)", "\(line.bounced)",
                    "\(line.uniqueClicks) (\(percent(line.uniqueClicks, line.delivered)))",
                    "\(line.opens) (\(percent(line.opens, line.delivered)))", "\(line.unsubscribes)",
                    "\(line.complaints)",
                ]
            }
        }
        guard visible else { return [] }
        return [
            Table(
                key: "campaigns", title: req.t("indicators.table_campaigns"), headers: headers,
                rows: rows(bySeries, kindNames: true),
                chart: Chart.bars(
                    title: req.t("indicators.table_campaigns"),
                    bars: bySeries.map {
                        (label($0.name), $0.delivered == 0 ? 0 : Double($0.uniqueClicks) * 100 / Double($0.delivered))
                    }, unit: "%"),
                csvURL: csv("campaigns")),
            Table(
                key: "campaign_segments", title: req.t("indicators.table_campaign_segments"), headers: headers,
                rows: rows(bySegment, kindNames: false),
                chart: Chart.bars(
                    title: req.t("indicators.table_campaign_segments"),
                    bars: bySegment.map {
                        ($0.name, $0.delivered == 0 ? 0 : Double($0.uniqueClicks) * 100 / Double($0.delivered))
                    }, unit: "%"),
                csvURL: csv("campaign_segments")),
        ]
    }
}
