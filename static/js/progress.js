// Follows the worker on the certificates page: making and emailing certificates, and
// printing them all in one PDF. Each <progress data-url> asks the server how far it is every
// two seconds (data-part: which part of the answer is its own); when done, the element
// "<id>-done" (or "<id>-failed") is shown. Without this script the page shows where it was.
for (const bar of document.querySelectorAll("progress[data-url]")) {
  if (bar.dataset.finished === "yes") continue;
  const text = document.getElementById(`${bar.id}-text`);
  const template = text ? text.textContent.replace(/\d[\d,]*/g, "#") : "";
  const show = (suffix) => {
    const element = document.getElementById(`${bar.id}-${suffix}`);
    if (element) element.hidden = false;
  };
  const poll = async () => {
    try {
      const response = await fetch(bar.dataset.url, { credentials: "same-origin", headers: { Accept: "application/json" } });
      if (response.ok) {
        const body = await response.json();
        const progress = bar.dataset.part ? body[bar.dataset.part] : body;
        if (!progress) return; // gone (outdated or deleted): the page says so when reloaded
        bar.max = progress.total;
        bar.value = progress.done;
        if (text) {
          let n = 0;
          const numbers = [progress.done, progress.total];
          text.textContent = template.replace(/#/g, () => String(numbers[n++] ?? ""));
        }
        if (progress.finished) {
          bar.dataset.finished = "yes";
          show(progress.failed ? "failed" : "done");
          return;
        }
      }
    } catch (error) {
      // The network failed for a moment: ask again.
    }
    setTimeout(poll, 2000);
  };
  setTimeout(poll, 1000);
}
