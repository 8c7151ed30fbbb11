// Live progress of a sending campaign: the figures and the bar refresh every few seconds until nothing is left.
document.addEventListener("DOMContentLoaded", () => {
  const panel = document.querySelector("[data-progress]");
  if (!panel) return;
  const tick = async () => {
    const response = await fetch(panel.dataset.progress, { credentials: "same-origin", headers: { Accept: "application/json" } });
    if (!response.ok) return;
    const progress = await response.json();
    const total = progress.sent + progress.pending + progress.failed + progress.suppressed + progress.cancelled;
    for (const key of Object.keys(progress)) {
      const cell = panel.querySelector(`[data-key="${key}"]`);
      if (cell) cell.textContent = progress[key].toLocaleString(document.documentElement.lang);
    }
    const done = total === 0 ? 0 : Math.round(100 * (total - progress.pending) / total);
    panel.querySelector(".progress-bar span").style.width = done + "%";
    panel.querySelector(".progress-bar").setAttribute("aria-valuenow", String(done));
    if (progress.pending > 0) setTimeout(tick, 3000);
    else window.location.reload();
  };
  setTimeout(tick, 3000);
});
