/* The known-at slider: moving it names the moment; letting go redraws the page as the
   ledger knew it then (the form's GET keeps ?as_of=&known_at= in the URL). Works from the
   keyboard (arrow keys move it, each step is a recorded time). Without scripts the text
   field and the Show button do the same. */
(function () {
  "use strict";
  function ready(fn) {
    if (document.readyState !== "loading") { fn(); } else { document.addEventListener("DOMContentLoaded", fn); }
  }
  ready(function () {
    /* On a narrow screen the chart scrolls sideways: start at its recent end. */
    var scroller = document.querySelector(".chart-scroll");
    if (scroller && scroller.scrollWidth > scroller.clientWidth) {
      scroller.scrollLeft = scroller.scrollWidth;
    }
    var slider = document.getElementById("known-slider");
    var form = document.getElementById("view-form");
    if (!slider || !form) { return; }
    var moments = JSON.parse(slider.getAttribute("data-moments") || "[]");
    var field = document.getElementById("known_at");
    var output = document.getElementById("known-output");
    function chosen() {
      var i = parseInt(slider.value, 10);
      return i >= moments.length ? "" : moments[i];
    }
    function show() {
      var m = chosen();
      var text = m === "" ? "now: everything recorded" : m;
      output.textContent = text;
      slider.setAttribute("aria-valuetext", text);
      field.value = m;
    }
    slider.addEventListener("input", show);
    slider.addEventListener("change", function () {
      show();
      if (field.value === "") { field.disabled = true; }
      form.submit();
    });
    form.addEventListener("submit", function () {
      if (field.value === "") { field.disabled = true; }
    });
    if (location.hash === "#decision") {
      var panel = document.getElementById("decision");
      if (panel) { panel.focus({preventScroll: true}); }
    }
  });
})();
