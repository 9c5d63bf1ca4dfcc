// The secrecy review: text selected in the document goes into the first empty row of the
// parts to mask (the form works without this; the parts can be typed). Written here, for
// this page; no library.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  const text = document.getElementById("handlingstext");
  const rows = Array.from(document.querySelectorAll("#maskering input[type=text]"));
  if (!text || rows.length === 0) return;
  const take = () => {
    const selection = window.getSelection();
    if (!selection || selection.isCollapsed || !text.contains(selection.anchorNode)) return;
    const part = selection.toString().trim();
    if (!part || rows.some((row) => row.value === part)) return;
    const free = rows.find((row) => row.value.trim() === "");
    if (!free) return;
    free.value = part;
    free.dispatchEvent(new Event("change"));
    const mask = document.querySelector("input[name=decision][value=mask]");
    if (mask) mask.checked = true;
  };
  text.addEventListener("mouseup", take);
  text.addEventListener("keyup", (event) => { if (event.shiftKey) take(); });
});
