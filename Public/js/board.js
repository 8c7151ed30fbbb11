// Progressive enhancement only: every action here also works without JavaScript through plain forms.
document.addEventListener("DOMContentLoaded", () => {
  // Drag a card onto another column: set that card's stage select and submit its form.
  document.querySelectorAll(".board .card[draggable]").forEach((card) => {
    card.addEventListener("dragstart", (event) => {
      event.dataTransfer.setData("text/plain", card.dataset.card);
      event.dataTransfer.effectAllowed = "move";
    });
  });
  document.querySelectorAll(".board .column").forEach((column) => {
    column.addEventListener("dragover", (event) => { event.preventDefault(); column.classList.add("drop-target"); });
    column.addEventListener("dragleave", () => column.classList.remove("drop-target"));
    column.addEventListener("drop", (event) => {
      event.preventDefault();
      column.classList.remove("drop-target");
      const card = document.querySelector(`.card[data-card="${event.dataTransfer.getData("text/plain")}"]`);
      if (!card || card.closest(".column") === column) return;
      const form = card.querySelector("form.move");
      form.querySelector("select").value = column.dataset.stage;
      form.submit();
    });
  });
});
