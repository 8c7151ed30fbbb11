"""Signing in to Vivier's back office from a browser, second factor included: an admin without one enrols an
authenticator app (the page's key, codes computed here as the app would, RFC 6238), and later sign-ins type the
current code, or a recovery code when this step's code was already used. Shared by the browser suite and
scripts/screenshots."""

import base64
import hashlib
import hmac
import struct
import time

from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait


def totp(secret_base32, at=None):
    """The 6-digit code of the 30-second step `at` falls in (HMAC-SHA1, dynamic truncation)."""
    key = base64.b32decode(secret_base32.replace(" ", "") + "=" * (-len(secret_base32.replace(" ", "")) % 8))
    counter = int((time.time() if at is None else at) // 30)
    mac = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = mac[-1] & 0x0F
    value = struct.unpack(">I", mac[offset:offset + 4])[0] & 0x7FFFFFFF
    return f"{value % 1_000_000:06d}", counter


class Accounts:
    """What the browser learnt about each account: its app's key, its recovery codes, the last step used."""

    def __init__(self):
        self.keys, self.recovery, self.last_step = {}, {}, {}

    def sign_in(self, driver, base, email, password):
        driver.delete_all_cookies()
        driver.get(base + "/login")
        driver.find_element(By.ID, "email").send_keys(email)
        driver.find_element(By.ID, "password").send_keys(password)
        driver.find_element(By.CSS_SELECTOR, "form.stacked button").click()
        wait = WebDriverWait(driver, 15)
        wait.until(lambda d: "/login/code" in d.current_url or "/app" in d.current_url)
        if "/login/code" in driver.current_url:
            code, step = totp(self.keys[email])
            if self.last_step.get(email) == step:
                code = self.recovery[email].pop()
            self.last_step[email] = step
            driver.find_element(By.ID, "code").send_keys(code)
            driver.find_element(By.CSS_SELECTOR, "form.stacked button").click()
            wait.until(EC.url_contains("/app"))
        if "/app/security" in driver.current_url:
            self.enrol(driver, email)

    def enrol(self, driver, email):
        """The admin's first sign-in: add the key to the 'app', confirm with its code, keep the recovery codes."""
        key = driver.find_element(By.ID, "totp-secret").text
        self.keys[email] = key
        code, step = totp(key)
        self.last_step[email] = step
        driver.find_element(By.ID, "code").send_keys(code)
        driver.find_element(By.CSS_SELECTOR, "form.stacked button.primary").click()
        codes = WebDriverWait(driver, 15).until(
            lambda d: d.find_elements(By.CSS_SELECTOR, ".recovery-codes code"))
        self.recovery[email] = [c.text for c in codes]
        driver.find_element(By.CSS_SELECTOR, "a.button.primary").click()
        WebDriverWait(driver, 15).until(lambda d: d.current_url.rstrip("/").endswith("/app"))
