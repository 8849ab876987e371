/* pakn — the latest published answers, rendered into a portal's page.
 *
 *   <div data-pakn-hoi-dap data-agency="48.SXD" data-limit="5"></div>
 *   <script src="https://pakn.example.gov.vn/embed.js" async></script>
 *
 * Attributes (all optional): data-agency, data-field, data-kind, data-q,
 * data-year, data-limit (1–50, default 5). The data comes from
 * /api/v1/public/qa on the server this script was loaded from. Every piece
 * of it is set as text (textContent), never parsed as HTML, so nothing a
 * citizen wrote can run in the host page. No cookies are sent.
 */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || !window.fetch || !window.URLSearchParams) return;
  var base = new URL(script.src, document.baseURI).origin;

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text) node.textContent = text;
    return node;
  }

  function day(iso) {
    var m = /^(\d{4})-(\d{2})-(\d{2})/.exec(iso || "");
    return m ? m[3] + "/" + m[2] + "/" + m[1] : "";
  }

  function excerpt(text, max) {
    text = String(text || "");
    return text.length > max ? text.slice(0, max).replace(/\s+\S*$/, "") + "…" : text;
  }

  function render(host) {
    if (host.getAttribute("data-pakn-rendered")) return;
    host.setAttribute("data-pakn-rendered", "1");
    var params = new URLSearchParams();
    ["agency", "field", "kind", "q", "year"].forEach(function (name) {
      var value = host.getAttribute("data-" + name);
      if (value) params.set(name, value);
    });
    var limit = parseInt(host.getAttribute("data-limit") || "5", 10);
    if (!(limit >= 1 && limit <= 50)) limit = 5;
    params.set("per_page", String(limit));
    var status = el("p", "pakn-status", "Đang tải hỏi – đáp…");
    host.replaceChildren(status);
    fetch(base + "/api/v1/public/qa?" + params.toString(), {
      credentials: "omit",
      headers: { Accept: "application/json" }
    })
      .then(function (response) {
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.json();
      })
      .then(function (data) {
        var items = (data && data.items) || [];
        if (!items.length) {
          status.textContent = "Chưa có câu hỏi nào được trả lời công khai.";
          return;
        }
        var list = el("ol", "pakn-hoi-dap");
        items.forEach(function (item) {
          var li = el("li");
          var link = el("a", "pakn-title", item.title);
          link.href = base + "/hoi-dap/" + encodeURIComponent(item.tracking_code);
          link.target = "_blank";
          link.rel = "noopener";
          var meta = [item.agency && item.agency.name, day(item.answered_at || item.published_at)]
            .filter(Boolean)
            .join(" · ");
          li.append(link, el("div", "pakn-meta", meta), el("p", "pakn-answer", excerpt(item.answer, 240)));
          list.append(li);
        });
        var all = new URLSearchParams();
        ["agency", "kind", "q", "year"].forEach(function (name) {
          if (params.get(name)) all.set(name, params.get(name));
        });
        var more = el("a", "pakn-more", "Xem tất cả (" + (data.total_capped ? "hơn " : "") + (data.total || items.length) + ")");
        more.href = base + "/hoi-dap" + (all.toString() ? "?" + all.toString() : "");
        more.target = "_blank";
        more.rel = "noopener";
        host.replaceChildren(list, more);
      })
      .catch(function () {
        status.textContent = "Không tải được danh sách hỏi – đáp. Vui lòng thử lại sau.";
      });
  }

  function start() {
    document.querySelectorAll("[data-pakn-hoi-dap]").forEach(render);
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
