// Shows, while typing, how a text will be encoded and how many parts it costs: GSM-7 (160 characters, 153 per
// part when split; the extension characters count twice) or, with any other character, UCS-2 (70, or 67 per part).
// The server counts the same way and refuses more than four parts.
document.addEventListener("DOMContentLoaded", () => {
  const text = document.getElementById("sms-text");
  const out = document.getElementById("sms-count");
  if (!text || !out) return;
  const basic = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
  const extension = "^{}\\[~]|€\f";
  const count = () => {
    let septets = 0, gsm = true;
    for (const c of text.value) {
      if (basic.includes(c)) septets += 1;
      else if (extension.includes(c)) septets += 2;
      else { gsm = false; break; }
    }
    const units = gsm ? septets : text.value.length;
    const parts = gsm ? (units <= 160 ? 1 : Math.ceil(units / 153)) : (units <= 70 ? 1 : Math.ceil(units / 67));
    out.textContent = (gsm ? out.dataset.gsm : out.dataset.ucs).replace("%1", units).replace("%2", parts);
  };
  text.addEventListener("input", count);
  count();
});
