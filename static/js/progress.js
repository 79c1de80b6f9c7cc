// Follows a certificate batch: asks the server how far it is every two seconds, and shows
// the final page when it is done. Without this script the page shows where it was.
const bar = document.getElementById("certificate-progress");
const text = document.getElementById("certificate-progress-text");
if (bar && bar.dataset.finished !== "yes") {
  const template = text.textContent.replace(/\d[\d,]*/g, "#");
  const poll = async () => {
    try {
      const response = await fetch(bar.dataset.url, { credentials: "same-origin", headers: { Accept: "application/json" } });
      if (response.ok) {
        const progress = await response.json();
        bar.max = progress.total;
        bar.value = progress.done;
        let n = 0;
        const numbers = [progress.done, progress.total];
        text.textContent = template.replace(/#/g, () => String(numbers[n++] ?? ""));
        if (progress.finished) {
          bar.dataset.finished = "yes";
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
