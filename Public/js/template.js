// Live preview of a message template: after a pause in typing, the form is posted as a preview and the rendered
// message (or the list of problems) replaces the preview pane. Without JavaScript, the Preview button does the same.
document.addEventListener("DOMContentLoaded", () => {
  const form = document.getElementById("template-form");
  const pane = document.getElementById("preview");
  if (!form || !pane) return;
  let timer = null;
  const refresh = async () => {
    const data = new URLSearchParams(new FormData(form));
    data.set("intent", "preview");
    const response = await fetch(form.dataset.preview, {
      method: "POST", body: data, headers: { "X-Preview": "1" }, credentials: "same-origin",
    });
    if (response.ok) pane.innerHTML = await response.text();
  };
  form.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(refresh, 400);
  });
  refresh();
});
