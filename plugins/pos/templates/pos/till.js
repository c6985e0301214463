// The till: keyboard and scanner first. Talks to the JSON API with the signed-in
// session (CSRF token from the page); looks products up one scan at a time.
(function () {
  "use strict";
  var csrf = document.querySelector('meta[name="csrf-token"]').content;
  function api(method, path, body, headers) {
    var h = {"Content-Type": "application/json", "X-CSRFToken": csrf};
    for (var k in (headers || {})) h[k] = headers[k];
    return fetch("/api/v1/" + path, {method: method, headers: h, credentials: "same-origin",
                                     body: body === undefined ? undefined : JSON.stringify(body)})
      .then(function (r) { return r.text().then(function (t) {
        var data = t ? JSON.parse(t) : null;
        if (!r.ok) throw new Error((data && data.error && data.error.message) || r.statusText);
        return data; }); });
  }
  function $(id) { return document.getElementById(id); }

  var openForm = $("open-form");
  if (openForm) {
    openForm.addEventListener("submit", function (e) {
      e.preventDefault();
      api("POST", "pos/registers/" + $("open-register").value + "/sessions",
          {opening_cash: $("open-cash").value || "0.00"})
        .then(function () { location.reload(); }, function (err) { alert(err.message); });
    });
    return;
  }
  if (!$("till")) return;
  var includeTax = $("till").dataset.includeTax === "true";
  // Enter submits the field's own form, whatever else the form holds (a scanner ends with Enter).
  document.querySelectorAll("#till form input").forEach(function (input) {
    input.addEventListener("keydown", function (e) {
      if (e.key === "Enter") { e.preventDefault(); input.form.requestSubmit(); }
    });
  });
  var lines = [], tenders = [], customer = null, pending = null;

  // Money in integer cents; one rounding per line, half-up (as the server does).
  function cents(text) { var m = String(text).trim().match(/^(-?)(\d*)(?:\.(\d{0,2}))?$/);
    if (!m) return NaN; return (m[1] ? -1 : 1) * (parseInt(m[2] || "0", 10) * 100 + parseInt(((m[3] || "") + "00").slice(0, 2), 10)); }
  function show(c) { var s = c < 0 ? "-" : ""; c = Math.abs(c);
    return s + Math.floor(c / 100) + "." + String(c % 100).padStart(2, "0"); }
  function divRound(a, b) { return a >= 0 ? Math.floor((2 * a + b) / (2 * b)) : -Math.floor((2 * -a + b) / (2 * b)); }
  function amounts(ln) {
    var gross = ln.qty * ln.price - ln.discount, bp = Math.round(ln.rate * 1000);   // rate in 1/1000 %
    if (includeTax) { var t = divRound(gross * bp, 100000 + bp); return {net: gross - t, tax: t, total: gross}; }
    var tax = divRound(gross * bp, 100000); return {net: gross, tax: tax, total: gross + tax};
  }
  function say(text, bad) { var m = $("message"); m.textContent = text; m.hidden = !text;
    m.className = "flash" + (bad ? " error" : ""); }

  function render() {
    var body = $("lines").querySelector("tbody"); body.innerHTML = "";
    var sub = 0, tax = 0, total = 0;
    lines.forEach(function (ln) {
      var a = amounts(ln); sub += a.net; tax += a.tax; total += a.total;
      var tr = document.createElement("tr");
      [ln.name, ln.serial || "", String(ln.qty), show(ln.price), ln.discount ? "-" + show(ln.discount) : "",
       show(a.tax), show(includeTax ? a.total : a.net)].forEach(function (v, i) {
        var td = document.createElement("td"); td.textContent = v; if (i > 1) td.className = "num"; tr.appendChild(td); });
      body.appendChild(tr);
    });
    var paid = tenders.reduce(function (s, t) { return s + t.amount; }, 0);
    var cash = tenders.reduce(function (s, t) { return s + (t.method === "cash" ? t.amount : 0); }, 0);
    $("subtotal").textContent = show(sub); $("tax").textContent = show(tax); $("total").textContent = show(total);
    $("paid").textContent = show(paid); $("due").textContent = show(Math.max(total - paid, 0));
    $("change").textContent = show(Math.max(Math.min(paid - total, cash), 0));
    $("tender-amount").placeholder = show(Math.max(total - paid, 0));
    var ul = $("tenders"); ul.innerHTML = "";
    tenders.forEach(function (t) { var li = document.createElement("li"); li.textContent = t.method + " " + show(t.amount); ul.appendChild(li); });
  }

  function addLine(p, serial) {
    lines.push({product_id: p.id, name: p.name, serial: serial || null, qty: 1, price: cents(p.price),
                rate: parseFloat(p.tax_rate), discount: 0});
    render(); say(p.name + " added.");
  }

  $("scan-form").addEventListener("submit", function (e) {
    e.preventDefault();
    if (pending) {                                       // the serial of a serialized product
      var serial = $("serial").value.trim(); if (!serial) return;
      addLine(pending, serial); pending = null;
      $("serial").value = ""; $("serial-label").hidden = true; $("scan").focus(); return;
    }
    var code = $("scan").value.trim(); if (!code) return;
    $("scan").value = "";
    api("GET", "pos/lookup?code=" + encodeURIComponent(code)).then(function (p) {
      if (p.serialized) {
        pending = p; $("serial-for").textContent = p.name; $("serial-label").hidden = false;
        say("Scan the serial of " + p.name + "."); $("serial").focus();
      } else { addLine(p); }
    }, function (err) { say(err.message, true); });
  });

  $("discount-form").addEventListener("submit", function (e) {
    e.preventDefault();
    var ln = lines[lines.length - 1], raw = $("discount").value.trim(); if (!ln || !raw) return;
    if (raw.slice(-1) === "%") { ln.discount = divRound(ln.qty * ln.price * Math.round(parseFloat(raw) * 100), 10000); }
    else { ln.discount = cents(raw); }
    $("discount").value = ""; render(); $("scan").focus();
  });

  $("customer-form").addEventListener("submit", function (e) {
    e.preventDefault();
    var phone = $("customer-phone").value.trim(); if (!phone) return;
    if (!$("customer-new").hidden) {                       // adding a new customer
      var name = $("customer-new-name").value.trim(); if (!name) { $("customer-new-name").focus(); return; }
      api("POST", "customers", {name: name, phone: phone}).then(function (c) {
        customer = c; $("customer-new").hidden = true; $("customer-name").textContent = c.name; $("scan").focus();
      }, function (err) { say(err.message, true); });
      return;
    }
    api("GET", "customers?per_page=5&q=" + encodeURIComponent(phone)).then(function (page) {
      if (page.items.length) { customer = page.items[0]; $("customer-name").textContent = customer.name +
        (page.items.length > 1 ? " (+" + (page.items.length - 1) + " more)" : ""); $("scan").focus(); }
      else { $("customer-name").textContent = "New customer:"; $("customer-new").hidden = false; $("customer-new-name").focus(); }
    }, function (err) { say(err.message, true); });
  });

  $("tender-form").addEventListener("submit", function (e) {
    e.preventDefault();
    var raw = $("tender-amount").value.trim() || $("tender-amount").placeholder, c = cents(raw);
    if (!(c > 0)) { say("Type an amount.", true); return; }
    tenders.push({method: $("tender-method").value, amount: c}); $("tender-amount").value = ""; render();
  });

  var key = (window.crypto && crypto.randomUUID) ? crypto.randomUUID() : String(Date.now()) + Math.random();
  function complete() {
    var body = {session_id: parseInt($("session").value, 10), customer_id: customer ? customer.id : null,
      lines: lines.map(function (ln) { var out = {product_id: ln.product_id, quantity: String(ln.qty)};
        if (ln.serial) out.serial = ln.serial; if (ln.discount) out.discount = show(ln.discount); return out; }),
      payments: tenders.map(function (t) { return {method: t.method, amount: show(t.amount)}; })};
    $("complete").disabled = true;
    api("POST", "pos/sales", body, {"Idempotency-Key": key}).then(function (sale) {
      location.href = "/pos/sales/" + sale.id;
    }, function (err) { $("complete").disabled = false; say(err.message, true); });
  }
  $("complete").addEventListener("click", complete);

  document.addEventListener("keydown", function (e) {
    var focus = {F2: "customer-phone", F4: "discount", F8: "tender-amount"}[e.key];
    if (focus) { e.preventDefault(); $(focus).focus(); }
    if (e.key === "F9") { e.preventDefault(); complete(); }
    if (e.key === "Escape") { e.preventDefault(); $("scan").focus(); }
  });
  render();
})();
