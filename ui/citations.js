// citewire side panel (gr.HTML js_on_load; Gradio provides `element`, `trigger` and `watch`).
// A click on any citation marker in the chat ([n], or "open" under related passages) sends the
// marker's href ("#cw-cite/<n>/<article>/<start>/<end>": the chatbot's sanitizer drops data-*
// attributes, hrefs survive) to the server as this panel's `click` event. When the server answers
// with the article, the highlighted <mark id="cw-mark"> is scrolled into view inside the panel.
window.__cwTrigger = trigger;
if (!window.__cwCiteListener) {
  window.__cwCiteListener = true;
  document.addEventListener(
    "click",
    function (ev) {
      var el = ev.target && ev.target.closest ? ev.target.closest("a.cw-cite") : null;
      if (!el) return;
      var ref = el.getAttribute("href") || "";
      if (ref.indexOf("#cw-cite/") !== 0) return;
      ev.preventDefault();
      ev.stopPropagation();
      document.querySelectorAll("a.cw-cite.cw-active").forEach(function (a) {
        a.classList.remove("cw-active");
      });
      el.classList.add("cw-active");
      window.__cwTrigger("click", { ref: ref });
    },
    true
  );
}
watch("value", function () {
  var mark = element.querySelector("#cw-mark");
  var box = element.querySelector(".cw-article-text");
  if (!mark || !box) return;
  box.scrollTop = Math.max(0, mark.offsetTop - box.clientHeight / 3);
  var r = element.getBoundingClientRect();
  if (r.top < 0 || r.top > window.innerHeight) element.scrollIntoView({ block: "nearest" });
});
