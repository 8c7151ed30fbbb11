"""Vivier in a real browser: a candidate applies (desktop, phone, keyboard only), a recruiter works the application
through the board, an interview and a rejection, a campaign reaches the candidate's mailbox and the candidate changes
a consent in the portal reached from that email; every public page and the main recruiter pages pass axe-core
(WCAG 2.1 A and AA) with no serious or critical violation.

Run by scripts/e2e against a live `vivier serve` (VIVIER_E2E_BASE) with the demo data and two users. The steps share
one browser and run in order: each builds on the previous one, as a working day does.
"""

import base64
import contextlib
import email
import email.policy
import hashlib
import hmac
import json
import os
import pathlib
import sys
import tempfile
import time
import unittest
import urllib.request
import uuid

os.environ.setdefault("SE_AVOID_STATS", "true")  # no network calls from selenium itself

import axe_playwright_python
import axe_selenium_python
from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import Select, WebDriverWait

sys.path.insert(0, os.path.dirname(__file__))
from sign_in import Accounts  # noqa: E402

BASE = os.environ["VIVIER_E2E_BASE"]
DATA = pathlib.Path(os.environ["VIVIER_E2E_DATA"])
SECRET = os.environ["VIVIER_SECRET"].encode()
RECRUITER = ("lea.recruteuse@atelier-boreal.example", "e2e recruiter pass")
ADMIN = ("admin.e2e@atelier-boreal.example", "e2e admin password")

# A run-unique candidate, so the steps find their own person among the demo's 300.
RUN = uuid.uuid4().hex[:6]
CANDIDATE = {"first": "Hélène", "last": f"Lefèvre-{RUN}", "email": f"helene.{RUN}@example.com"}
TAG = f"e2e-{RUN}"

# Both axe-core versions at hand: 4.x (current rules) and the 3.1 that axe-selenium-python ships.
AXE_SOURCES = [
    (pathlib.Path(axe_playwright_python.__file__).parent / "axe.min.js").read_text(),
    (pathlib.Path(axe_selenium_python.__file__).parent / "node_modules/axe-core/axe.min.js").read_text(),
]
AXE_RUN = """
const done = arguments[arguments.length - 1];
const tags = axe.version.startsWith("3.") ? ["wcag2a", "wcag2aa"] : ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"];
axe.run(document, {runOnly: {type: "tag", values: tags}}, (error, results) => {
  if (error) { done({error: String(error)}); return; }
  done({version: axe.version, violations: results.violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.slice(0, 5).map(n => n.target.join(" "))}))});
});
"""


def mailbox_messages():
    """Every message the local Maildir transport delivered, parsed by Python's own email package."""
    messages = []
    for folder in ("new", "cur"):
        for path in sorted((DATA / "mail" / folder).glob("*")):
            messages.append(email.message_from_bytes(path.read_bytes(), policy=email.policy.default))
    return messages


def body(message, subtype):
    part = message.get_body(preferencelist=(subtype,))
    return part.get_content() if part else ""


def signed_link(fields, days=60):
    """A link as Vivier signs it for an email (fields, expiry, HMAC-SHA256 with the installation secret), for the
    one page no step reaches within a test run: the survey goes out a day after an application ends."""
    def b64(data):
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()
    payload = b64("|".join(fields + [str(int(time.time()) + days * 86400)]).encode())
    return payload + "." + b64(hmac.new(SECRET, payload.encode(), hashlib.sha256).digest())


class Browser(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        options = webdriver.ChromeOptions()
        for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--lang=fr-FR"):
            options.add_argument(flag)
        options.add_experimental_option("prefs", {"intl.accept_languages": "fr-FR,fr"})
        cls.driver = webdriver.Chrome(options=options, service=Service("/usr/bin/chromedriver"))
        cls.driver.set_script_timeout(60)
        cls.driver.set_window_size(1280, 900)
        cls.state = {}
        cls.accounts = Accounts()

    @classmethod
    def tearDownClass(cls):
        cls.driver.quit()

    def tearDown(self):
        """On a failure, the page as the browser showed it: a screenshot and its text, for whoever reads the log."""
        result = self._outcome.result
        if any(test is self for test, _ in result.errors + result.failures):
            shot = pathlib.Path(tempfile.gettempdir()) / f"vivier-e2e-{self._testMethodName}.png"
            try:
                self.driver.switch_to.alert.dismiss()
            except Exception:
                pass
            self.driver.save_screenshot(str(shot))
            print(f"\n--- {self.driver.current_url} (screenshot {shot})\n"
                  + self.driver.find_element(By.TAG_NAME, "body").text[:2000])

    # MARK: - Helpers

    def get(self, path):
        self.driver.get(path if path.startswith("http") else BASE + path)

    def find(self, css):
        return self.driver.find_element(By.CSS_SELECTOR, css)

    def wait(self, condition, timeout=15):
        return WebDriverWait(self.driver, timeout).until(condition)

    def wait_for(self, css, timeout=15):
        return self.wait(EC.presence_of_element_located((By.CSS_SELECTOR, css)), timeout)

    def flash(self):
        return self.wait_for(".flash").text

    def submit(self, action, confirm=False):
        """Does what sends a form (a click, Enter), accepts the confirmation dialog it opens if asked, and waits until
        the next page replaced this one."""
        page = self.find("html")
        action()
        if confirm:
            self.wait(EC.alert_is_present()).accept()

        def replaced(_):
            try:
                page.is_enabled()
                return False
            except WebDriverException:  # stale, or "does not belong to the document": either way, a new page
                return True
        self.wait(replaced)

    def login(self, account):
        self.accounts.sign_in(self.driver, BASE, *account)

    def wait_for_mail(self, predicate, timeout=30):
        deadline = time.time() + timeout
        while time.time() < deadline:
            found = [m for m in mailbox_messages() if predicate(m)]
            if found:
                return found
            time.sleep(0.3)
        self.fail("no such message reached the mailbox")

    def violations(self):
        """Serious and critical axe-core violations of the page in the browser, under both axe versions."""
        found = []
        for source in AXE_SOURCES:
            self.driver.execute_script("delete window.axe;")
            self.driver.execute_script(source)
            result = self.driver.execute_async_script(AXE_RUN)
            self.assertNotIn("error", result, result.get("error"))
            found += [
                f"{self.driver.current_url} axe {result['version']}: {v['impact']} {v['id']} ({v['help']}) {v['nodes']}"
                for v in result["violations"] if v["impact"] in ("serious", "critical")
            ]
        return found

    def audit(self, paths):
        problems = []
        for path in paths:
            if path is not None:
                self.get(path)
            self.assertNotIn("error", self.driver.find_element(By.TAG_NAME, "body").get_attribute("class") or "")
            problems += self.violations()
        self.assertFalse(problems, "\n".join(problems))

    @contextlib.contextmanager
    def phone(self):
        """The browser at 390 px wide (an iPhone 12 to 15) for the steps inside."""
        self.driver.set_window_size(390, 844)
        try:
            yield
        finally:
            self.driver.set_window_size(1280, 900)

    def assert_fits(self):
        """Nothing past the right edge: the page would scroll sideways, or a box would cut off what it holds."""
        # What sits in a box that scrolls sideways (a wide table) does not widen the page; the box itself must fit.
        beyond = self.driver.execute_script("""
            const inScroller = e => {
              for (let p = e.parentElement; p; p = p.parentElement) {
                if (["auto", "scroll"].includes(getComputedStyle(p).overflowX)) return true;
              }
              return false;
            };
            return [...document.querySelectorAll("body *")]
              .filter(e => e.getClientRects().length && e.getBoundingClientRect().right > innerWidth + 1)
              .filter(e => !inScroller(e))
              .map(e => e.tagName.toLowerCase() + (e.className ? "." + e.className : "")).slice(0, 5);
        """)
        self.assertEqual(beyond, [], f"{self.driver.current_url} is wider than the window")

    def job_path(self):
        if "job" not in self.state:
            self.get("/careers")
            self.state["job"] = self.find(".job-list a").get_attribute("href").replace(BASE, "")
        return self.state["job"]

    def fill_application(self, first, last, address, letter=""):
        self.find("#first_name").send_keys(first)
        self.find("#last_name").send_keys(last)
        self.find("#email").send_keys(address)
        self.find("#cv").send_keys(self.cv())
        if letter:
            self.find("#cover_letter").send_keys(letter)

    def cv(self):
        path = pathlib.Path(tempfile.gettempdir()) / f"cv-{RUN}.pdf"
        if not path.exists():
            path.write_bytes(b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n")
        return str(path)

    # MARK: - The audit itself can fail

    def test_00_the_audit_finds_a_planted_violation(self):
        self.get("/careers")
        self.driver.execute_script(
            "document.querySelector('main').insertAdjacentHTML('beforeend', '<img src=\"/x.png\"><input id=planted>')")
        found = self.violations()
        self.assertTrue(any("image-alt" in f for f in found), found)
        self.assertTrue(any("label" in f and "planted" in f for f in found), found)

    # MARK: - Candidate

    def test_01_apply_with_a_cv_on_a_desktop(self):
        self.get(self.job_path() + "/apply")
        self.fill_application(CANDIDATE["first"], CANDIDATE["last"], CANDIDATE["email"], "Bonjour, je postule.")
        self.find("#consent_talent_pool").click()
        self.find("form.stacked button[type=submit]").click()
        self.wait(EC.url_contains("/careers/thanks"))
        self.audit([None])
        ack = self.wait_for_mail(lambda m: CANDIDATE["email"] in str(m["To"]))
        self.assertIn("/portal/t/", body(ack[0], "plain"))

    def test_02_apply_with_a_cv_on_a_phone(self):
        with self.phone():
            self.get(self.job_path() + "/apply")
            self.assert_fits()
            self.fill_application("Marc", f"Phone-{RUN}", f"marc.{RUN}@example.com")
            submit = self.find("form.stacked button[type=submit]")
            self.driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", submit)
            submit.click()
            self.wait(EC.url_contains("/careers/thanks"))
            self.audit([None])
            # The portal of this application, from its acknowledgement, on the phone.
            ack = self.wait_for_mail(lambda m: f"marc.{RUN}@example.com" in str(m["To"]))[0]
            portal = next(word for word in body(ack, "plain").split() if "/portal/t/" in word).strip("()<>.,")
            self.get(portal)
            self.wait(EC.url_contains("/portal"))
            self.assert_fits()
            self.audit([None])
        self.driver.delete_all_cookies()

    def test_03_apply_with_the_keyboard_only(self):
        """Tab from the top of the page, type into whatever has focus, Space on the boxes, Enter to send. The
        keys go to the page, as a keyboard's do; only the file is chosen by path, the part a system dialog plays."""
        self.get(self.job_path() + "/apply")
        keyboard = lambda *keys: ActionChains(self.driver).send_keys(*keys).perform()
        values = {"first_name": "Kim", "last_name": f"Clavier-{RUN}", "email": f"kim.{RUN}@example.com",
                  "cv": self.cv(), "cover_letter": "Au clavier seulement."}
        reached = []
        for _ in range(60):
            keyboard(Keys.TAB)
            focused = self.driver.switch_to.active_element
            field = focused.get_attribute("id")
            if field == "cv" and field not in reached:
                focused.send_keys(values[field])
                reached.append(field)
            elif field in values and field not in reached:
                keyboard(values[field])
                reached.append(field)
            elif field == "consent_talent_pool":
                keyboard(Keys.SPACE)
                self.assertTrue(focused.is_selected())
            elif focused.tag_name == "button" and focused.get_attribute("type") == "submit":
                self.assertEqual(sorted(reached), sorted(values), "a field cannot be reached with Tab")
                keyboard(Keys.ENTER)
                break
        self.wait(EC.url_contains("/careers/thanks"))
        self.assertEqual(
            reached, ["first_name", "last_name", "email", "cv", "cover_letter"], "focus order differs from reading order")

    # MARK: - Recruiter

    def candidate_page(self):
        if "candidate" not in self.state:
            self.get(f"/app/candidates?q={CANDIDATE['last']}")
            link = self.wait_for("table tbody a")
            self.state["candidate"] = link.get_attribute("href").replace(BASE, "")
        self.get(self.state["candidate"])

    def test_04_recruiter_moves_a_card_on_the_board(self):
        self.login(RECRUITER)
        self.candidate_page()
        board = self.find("a[href$='/board']").get_attribute("href")
        self.get(board)
        card = self.wait_for(f".card[data-card] a[href='{self.state['candidate']}']").find_element(By.XPATH, "./..")
        source = card.find_element(By.XPATH, "./ancestor::section").get_attribute("data-stage")
        columns = [c.get_attribute("data-stage") for c in self.driver.find_elements(By.CSS_SELECTOR, ".board .column")]
        target = columns[columns.index(source) + 1]
        # HTML drag and drop as the browser fires it: dragstart on the card, dragover and drop on the column.
        self.submit(lambda: self.driver.execute_script("""
            const [card, column] = arguments;
            const data = new DataTransfer();
            card.dispatchEvent(new DragEvent("dragstart", {bubbles: true, dataTransfer: data}));
            column.dispatchEvent(new DragEvent("dragover", {bubbles: true, cancelable: true, dataTransfer: data}));
            column.dispatchEvent(new DragEvent("drop", {bubbles: true, cancelable: true, dataTransfer: data}));
        """, card, self.find(f".board .column[data-stage='{target}']")))
        self.assertTrue(self.flash())
        moved = self.wait_for(f".board .column[data-stage='{target}'] a[href='{self.state['candidate']}']")
        self.assertTrue(moved.is_displayed())
        self.audit([None])

    def test_05_recruiter_tags_and_schedules_an_interview(self):
        self.candidate_page()
        self.submit(lambda: self.find("#tag").send_keys(TAG + Keys.ENTER))
        self.assertTrue(self.flash())
        self.find("details.schedule summary").click()
        form = self.find("form[action$='/interviews']")
        day = time.strftime("%Y-%m-%d", time.gmtime(time.time() + 7 * 86400))
        # Date and time inputs take keystrokes in the browser's locale format; their value is set as a picker would.
        self.driver.execute_script("arguments[0].value = arguments[1]", form.find_element(By.NAME, "date"), day)
        self.driver.execute_script("arguments[0].value = '10:30'", form.find_element(By.NAME, "time"))
        form.find_element(By.NAME, "location").send_keys("12 rue des Lilas, Lyon")
        form.find_element(By.NAME, "interviewers").send_keys("Léa Martin")
        self.submit(lambda: form.find_element(By.CSS_SELECTOR, "button.primary").click())
        self.assertTrue(self.flash())
        invitation = self.wait_for_mail(
            lambda m: CANDIDATE["email"] in str(m["To"]) and any(
                p.get_content_type() == "text/calendar" for p in m.walk()))
        calendar = next(p for p in invitation[0].walk() if p.get_content_type() == "text/calendar")
        self.assertIn("METHOD:REQUEST", calendar.get_content())
        self.assertIn(day.replace("-", ""), calendar.get_content())

    def test_06_recruiter_rejects_with_a_reason(self):
        self.candidate_page()
        form = self.find("form[action$='/reject']")
        reasons = Select(form.find_element(By.NAME, "reason"))
        reasons.select_by_index(1)
        form.find_element(By.NAME, "note").send_keys("Merci pour votre temps, vraiment.")
        self.submit(lambda: form.find_element(By.CSS_SELECTOR, "button.danger").click(), confirm=True)
        self.assertTrue(self.flash())
        self.assertEqual(self.driver.find_elements(By.CSS_SELECTOR, "form[action$='/reject']"), [])
        self.get("/app/outbox")
        self.assertIn(CANDIDATE["email"], self.find("table").text)

    def test_07_recruiter_builds_a_segment_and_sends_a_campaign(self):
        self.get("/app/segments/new")
        self.find("#name").send_keys(f"Tag {TAG}")
        Select(self.find("#field_0")).select_by_value("tag")
        value = self.wait_for("#value_0")
        value.clear()
        value.send_keys(TAG)
        self.submit(lambda: self.find("button[name=intent][value=save]").click())
        self.assertTrue(self.flash())
        self.assertIn("1", self.find("#preview").text)

        self.get("/app/campaigns")
        self.submit(lambda: self.find("form[action='/app/campaigns'] button").click())
        self.find("#name").clear()
        self.find("#name").send_keys(f"Nouvelles {RUN}")
        Select(self.find("#segment")).select_by_visible_text(f"Tag {TAG}")
        if self.driver.find_elements(By.CSS_SELECTOR, "#purpose"):
            Select(self.find("#purpose")).select_by_value("talent_pool")
        for language in ("fr", "en"):
            subject = self.find(f"#subject_{language}")
            subject.clear()
            subject.send_keys(f"Des nouvelles {RUN}" if language == "fr" else f"News {RUN}")
            text = self.find(f"#body_{language}")
            text.clear()
            text.send_keys("Bonjour {{candidate.first_name}}, nous recrutons à nouveau." if language == "fr"
                           else "Hello {{candidate.first_name}}, we are hiring again.")
        self.submit(lambda: self.find("button[name=intent][value=send]").click(), confirm=True)
        self.assertTrue(self.flash())
        # The bar follows the sending live and the page shows the report once nothing is left.
        self.wait(lambda d: d.find_element(By.CSS_SELECTOR, "[role=progressbar]").get_attribute("aria-valuenow") == "100",
                  timeout=60)
        self.assertEqual(self.find("[data-key=sent]").text, "1")
        sent = self.wait_for_mail(lambda m: f"Des nouvelles {RUN}" in str(m["Subject"]))
        self.assertEqual([CANDIDATE["email"]], [m["To"].addresses[0].addr_spec for m in sent])
        self.assertIn("One-Click", str(sent[0]["List-Unsubscribe-Post"]))
        self.state["campaign_subject"] = f"Des nouvelles {RUN}"

    # MARK: - Candidate again, from the mailbox

    def test_08_candidate_opens_the_portal_from_the_email_and_changes_a_consent(self):
        self.login(ADMIN)
        self.get("/app/mailbox")
        self.driver.find_element(By.PARTIAL_LINK_TEXT, self.state["campaign_subject"]).click()
        frame = self.wait_for("iframe")
        self.driver.switch_to.frame(frame)
        self.wait_for("a[href]")
        links = [a.get_attribute("href") for a in self.driver.find_elements(By.CSS_SELECTOR, "a[href]")]
        self.driver.switch_to.default_content()
        portal = next(link for link in links if "/portal/t/" in link)
        self.driver.delete_all_cookies()  # the candidate's own browser
        self.get(portal)
        self.wait(EC.url_contains("/portal"))
        self.assertIn(CANDIDATE["first"], self.find("main").text)
        self.audit([None])
        with self.phone():
            self.assert_fits()
        box = self.find("#consent-job_alerts")
        was = box.is_selected()
        box.click()
        self.submit(lambda: box.find_element(By.XPATH, "./ancestor::form").find_element(By.CSS_SELECTOR, "button").click())
        self.assertTrue(self.flash())
        self.assertNotEqual(was, self.find("#consent-job_alerts").is_selected())

        # The unsubscribe address of the campaign's header: a GET shows a page with a button and changes nothing.
        campaign = self.wait_for_mail(lambda m: self.state["campaign_subject"] in str(m["Subject"]))[0]
        unsubscribe = str(campaign["List-Unsubscribe"]).split("<")[1].split(">")[0]
        self.get(unsubscribe)
        self.audit([None])
        self.submit(lambda: self.find("main form button").click())
        self.audit([None])

    def test_08b_a_visitor_joins_the_talent_community_with_double_opt_in(self):
        self.driver.delete_all_cookies()
        self.get("/talent-community")
        address = f"noemie.{RUN}@example.com"
        self.find("#first_name").send_keys("Noémie")
        self.find("#email").send_keys(address)
        self.find("#consent_newsletter").click()
        self.submit(lambda: self.find("main form button[type=submit]").click())
        self.audit([None])
        confirmation = self.wait_for_mail(lambda m: address in str(m["To"]))[0]
        link = next(word for word in body(confirmation, "plain").split() if "/confirm/" in word).strip("()<>")
        self.get(link)
        self.audit([None])
        self.submit(lambda: self.find("main form button").click())
        self.assertIn("confirm", self.driver.current_url)
        self.audit([None])
        # The link works once.
        self.get(link)
        self.assertEqual(self.driver.find_elements(By.CSS_SELECTOR, "main form button"), [])

    # MARK: - Accessibility of every public page and the main recruiter pages

    def test_09_public_pages_pass_axe(self):
        self.driver.delete_all_cookies()
        job = self.job_path()
        survey = "/survey/" + signed_link(["survey", str(uuid.uuid4()), "", "rejected"])
        # The retention notice's "keep my profile" page, for the candidate of the earlier steps.
        keep = "/keep/" + signed_link(["keep", self.state["candidate"].rsplit("/", 1)[-1]])
        pages = ["/careers", "/careers?lang=en", job, job + "/apply", "/talent-community", "/portal/login", "/login",
                 "/login/forgot", survey, keep]
        self.audit(pages)
        with self.phone():
            for page in pages:
                self.get(page)
                self.assert_fits()
        self.get(survey)
        self.find("input[name=score][value='9']").click()
        self.submit(lambda: self.find("main form button").click())
        self.assertEqual(self.driver.find_elements(By.CSS_SELECTOR, "input[name=score]"), [])
        self.audit([None])
        # The apply form with its errors shown.
        self.get(job + "/apply")
        self.submit(lambda: self.find("form.stacked button[type=submit]").click())
        self.wait_for(".error")
        self.audit([None])

    def test_09b_an_admin_enrols_an_authenticator_app_then_signs_in_with_it(self):
        """The admin has enrolled at their first sign-in (test 08); signing in again asks for the app's code."""
        self.assertIn(ADMIN[0], self.accounts.keys)
        self.assertEqual(len(self.accounts.recovery[ADMIN[0]]), 10)
        self.driver.delete_all_cookies()
        self.get("/login")
        self.find("#email").send_keys(ADMIN[0])
        self.find("#password").send_keys(ADMIN[1])
        self.submit(lambda: self.find("form.stacked button").click())
        self.assertIn("/login/code", self.driver.current_url)
        self.audit([None])
        self.find("#code").send_keys("000000")
        self.submit(lambda: self.find("form.stacked button").click())
        self.assertIn("/login/code", self.driver.current_url)
        self.assertTrue(self.find(".flash-error").is_displayed())
        self.find("#code").send_keys(self.accounts.recovery[ADMIN[0]].pop())
        self.submit(lambda: self.find("form.stacked button").click())
        self.assertTrue(self.driver.current_url.rstrip("/").endswith("/app"))
        self.audit(["/app/security", "/app/audit"])

    def test_10_recruiter_pages_pass_axe(self):
        self.login(RECRUITER)
        self.candidate_page()
        pages = [None, "/app", "/app/jobs", "/app/candidates", "/app/waiting", "/app/indicators", "/app/segments",
                 "/app/segments/new", "/app/campaigns", "/app/newsletters", "/app/outbox", "/app/templates",
                 "/app/prep"]
        self.audit(pages)
        self.get("/app/jobs")
        boards = [a.get_attribute("href") for a in self.driver.find_elements(By.CSS_SELECTOR, "a[href$='/board']")]
        self.audit(boards[:2])
        self.login(ADMIN)
        self.audit(["/app/company", "/app/users", "/app/partners", "/app/mailbox", "/app/pipeline", "/app/retention",
                    "/app/audit", "/app/security"])


    # MARK: - Bringing a pool in, and opening Vivier to other tools

    def test_11_an_admin_imports_a_spreadsheet_and_opens_the_api(self):
        """A semicolon-separated Windows-1252 export: the dry run names the bad row, the import runs in the
        background to its end; then an API token is created and the API answers to it."""
        self.login(ADMIN)
        rows = ["Courriel;Prénom;Nom;Consentement",
                f"e2e.import.{RUN}@example.com;Hélène;Import;Salon 2025, formulaire signé",
                "pas-une-adresse;Jean;Martin;"]
        with tempfile.NamedTemporaryFile("wb", suffix=".csv", delete=False) as file:
            file.write("\r\n".join(rows).encode("cp1252") + b"\r\n")
        self.get("/app/imports")
        self.audit([None])
        self.find("#file").send_keys(file.name)
        self.submit(lambda: self.find("form.stacked button").click())
        self.assertIn("/app/imports/", self.driver.current_url)
        report = self.find("main").text
        self.assertIn("Windows-1252", report)
        self.assertIn("pas-une-adresse", report)
        self.audit([None])
        with self.phone():
            self.assert_fits()
        self.submit(lambda: self.find("form[action$='/start'] button").click())
        for _ in range(60):
            if "terminé" in self.find("main").text or "done" in self.find("main").text:
                break
            time.sleep(0.5)
            self.driver.refresh()
        self.assertRegex(self.find("main").text, "terminé|done")
        self.audit([None])

        self.get("/app/api-tokens")
        self.find("#name").send_keys("E2E")
        self.submit(lambda: self.find("form.stacked button").click())
        token = self.find("#new-token").get_attribute("value")
        self.assertTrue(token.startswith("viv_"))
        self.audit([None, "/app/webhooks", "/api/v1"])
        request = urllib.request.Request(f"{BASE}/api/v1/candidates?email=e2e.import.{RUN}@example.com",
                                         headers={"Authorization": f"Bearer {token}"})
        with urllib.request.urlopen(request) as answer:
            people = json.load(answer)["data"]
        self.assertEqual([person["first_name"] for person in people], ["Hélène"])
        with self.phone():
            self.get("/api/v1")
            self.assert_fits()

if __name__ == "__main__":
    unittest.main(verbosity=2)
