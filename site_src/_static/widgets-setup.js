// Loaded before the widget manager's embed bundle (site_src/conf.py, nb_ipywidgets_js).
// 1. The bundle looks for its fonts (FontAwesome, for the buttons' icons) relative to the page
//    unless told where they are: here, _static/widgets/@jupyter-widgets/.
// 2. A widget's Image control has no alt text of its own: give it the alt text of the saved
//    picture of the same state, which the lesson shows just after the widget.
(function () {
  var here = document.currentScript.src;
  var widgets = here.slice(0, here.lastIndexOf("/") + 1) + "widgets/";
  window.__jupyter_widgets_assets_path__ = widgets;
  // The bundle's controls module finds its fonts beside its own AMD address, which require.js
  // builds from baseUrl: "@jupyter-widgets/controls" -> widgets/@jupyter-widgets/controls.js.
  window.require = { baseUrl: widgets };

  function describe(image) {
    var cell = image.closest(".cell");
    var next = cell && cell.nextElementSibling;
    while (next && !next.querySelector("img[alt]")) {
      next = next.nextElementSibling;
    }
    var saved = next ? next.querySelector("img[alt]").alt : "";
    image.alt = "The widget's picture, drawn from its saved state" + (saved ? ": " + saved : "");
  }

  new MutationObserver(function () {
    document.querySelectorAll("img.widget-image:not([alt])").forEach(describe);
  }).observe(document.documentElement, { childList: true, subtree: true });
})();
