// Segment builder: one more condition row on demand, value suggestions that follow the chosen field, the consent
// state only for consent conditions, and the count refreshed after a pause in editing. Without JavaScript the
// form still works: blank rows are there, and the Count button shows the same figures.
document.addEventListener("DOMContentLoaded", () => {
  const form = document.getElementById("segment-form");
  const pane = document.getElementById("preview");
  const rules = document.getElementById("rules");
  const add = document.getElementById("add-rule");
  if (!form || !pane || !rules) return;

  // A closed set of values (an outcome, a job, a consent) is a choice list; anything else a text box with hints.
  const fit = (row, changed) => {
    const field = row.querySelector(".rule-field").value;
    const list = document.getElementById("values-" + field);
    let value = row.querySelector(".rule-value");
    const wantSelect = !!(list && list.hasAttribute("data-enumerated"));
    if (changed || (wantSelect !== (value.tagName === "SELECT"))) {
      const control = document.createElement(wantSelect ? "select" : "input");
      control.name = value.name;
      control.id = value.id;
      control.className = "rule-value";
      if (wantSelect) {
        for (const option of list.options) control.add(new Option(option.textContent, option.value));
      } else {
        control.maxLength = 200;
        if (list) control.setAttribute("list", list.id);
      }
      value.replaceWith(control);
      value = control;
    }
    if (value.tagName === "INPUT") {
      value.placeholder = /_(after|before)$/.test(field) ? "2026-01-31" : (field === "opened" || field === "clicked") ? "30" : "";
    }
    row.querySelector(".rule-option").hidden = field !== "consent";
  };
  rules.querySelectorAll(".rule").forEach((row) => fit(row, false));
  rules.addEventListener("change", (event) => {
    const row = event.target.closest(".rule");
    if (row && event.target.classList.contains("rule-field")) fit(row, true);
  });

  if (add) {
    add.hidden = false;
    add.addEventListener("click", () => {
      const rows = rules.querySelectorAll(".rule");
      const last = rows[rows.length - 1];
      const index = Number(last.dataset.index) + 1;
      const row = last.cloneNode(true);
      row.dataset.index = String(index);
      row.querySelectorAll("[name]").forEach((element) => {
        element.name = element.name.replace(/_\d+$/, "_" + index);
        if (element.id) element.id = element.id.replace(/_\d+$/, "_" + index);
        if (element.type === "checkbox") element.checked = false;
        else if (element.tagName === "INPUT") element.value = "";
        else if (element.classList.contains("rule-field")) element.selectedIndex = 0;
      });
      row.querySelectorAll("label[for]").forEach((label) => {
        label.htmlFor = label.htmlFor.replace(/_\d+$/, "_" + index);
      });
      rules.appendChild(row);
      fit(row, true);
      row.querySelector(".rule-field").focus();
    });
  }

  let timer = null;
  const refresh = async () => {
    const response = await fetch(form.dataset.preview, {
      method: "POST", body: new URLSearchParams(new FormData(form)), headers: { "X-Preview": "1" },
      credentials: "same-origin",
    });
    if (response.ok) pane.innerHTML = await response.text();
  };
  form.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(refresh, 400); });
  form.addEventListener("change", () => { clearTimeout(timer); timer = setTimeout(refresh, 200); });
});
