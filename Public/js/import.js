// Live progress of a running import: the bar and the count refresh every two seconds; when the import ends the
// page reloads to show its report.
(() => {
  const panel = document.querySelector("[data-progress]");
  if (!panel) return;
  const tick = async () => {
    const response = await fetch(panel.dataset.progress, { credentials: "same-origin", headers: { Accept: "application/json" } });
    if (!response.ok) return;
    const progress = await response.json();
    if (progress.status !== "queued" && progress.status !== "running") { window.location.reload(); return; }
    const percent = progress.total === 0 ? 0 : Math.floor(100 * progress.processed / progress.total);
    panel.querySelector("[data-key=processed]").textContent = progress.processed.toLocaleString(document.documentElement.lang);
    panel.querySelector("[data-key=total]").textContent = progress.total.toLocaleString(document.documentElement.lang);
    panel.querySelector(".progress-bar span").style.width = percent + "%";
    panel.querySelector(".progress-bar").setAttribute("aria-valuenow", String(percent));
    setTimeout(tick, 2000);
  };
  setTimeout(tick, 2000);
})();
