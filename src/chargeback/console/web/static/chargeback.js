// The Chargeback page. The view (tab, period, metric, as-of date, zone, filter, sort, cluster)
// lives in the URL; this script asks /api/v1/chargeback for it and draws the chart and table.
// Values arrive computed by the report engine (exact decimal strings, integer bytes); this
// script only formats them for people. It sorts, filters and adds up nothing itself.

const API = "/api/v1/chargeback";
const PARAMS = ["tab", "period", "metric", "asOf", "tz", "filter", "sort", "cluster"];
const TAB_LABELS = { overall: "Overall Cost", ingress: "Ingress", egress: "Egress" };
const FILTER_DELAY_MS = 250;

const root = document.getElementById("chargeback");
const defaults = {
  tab: root.dataset.defaultTab,
  period: root.dataset.defaultPeriod,
  tz: root.dataset.defaultTz,
};
const csrfToken = document.querySelector('meta[name="csrf-token"]').content;
const locale = navigator.language || "en-US";
const $ = (id) => document.getElementById(id);

let state = readState();
let chart = null;
let latestRequest = 0;
let lastReport = null;
let filterTimer = null;
let shownColumns = null; // the bucket labels of the table on screen, to tell a new set of columns

// ---- view state in the URL ----------------------------------------------------------------

function readState() {
  const query = new URLSearchParams(location.search);
  const result = {};
  for (const name of PARAMS) {
    const value = query.get(name);
    if (value !== null && value !== "") result[name] = value;
  }
  return result;
}

function current(name) {
  return state[name] ?? defaults[name] ?? "";
}

function queryOf(view) {
  const query = new URLSearchParams();
  for (const name of PARAMS) if (view[name]) query.set(name, view[name]);
  return query;
}

function setState(changes, { replace = false } = {}) {
  state = { ...state, ...changes };
  for (const name of Object.keys(state)) if (!state[name]) delete state[name];
  const query = queryOf(state).toString();
  const url = location.pathname + (query ? `?${query}` : "");
  if (replace) history.replaceState(null, "", url);
  else history.pushState(null, "", url);
  syncControls();
  load();
}

// ---- loading, error, empty ------------------------------------------------------------------

async function load() {
  const request = ++latestRequest;
  showLoading();
  const answer = await callApi(`${API}?${queryOf(state)}`, { headers: { Accept: "application/json" } });
  if (request !== latestRequest) return; // a newer view was asked for meanwhile
  if (answer.status === 401) return goToLogin();
  if (!answer.ok) return showError(`This view could not be shown: ${answer.message}.`);
  render(parseJson(answer.text));
}

// One answer of the API, or why there is none: a network failure becomes a message (status 0).
async function callApi(url, options) {
  try {
    const response = await fetch(url, options);
    const text = await response.text();
    const message = response.ok ? "" : errorMessage(text, response);
    return { status: response.status, ok: response.ok, text, message };
  } catch (error) {
    const message = `the console could not be reached (${error.message})`;
    return { status: 0, ok: false, text: "", message };
  }
}

function goToLogin() {
  location.assign(`/login?next=${encodeURIComponent(location.pathname + location.search)}`);
}

// Bytes beyond 2^53 would lose digits as JS numbers: keep them exact as BigInt.
function parseJson(text) {
  return JSON.parse(text, (key, value, context) =>
    typeof value === "number" && Number.isInteger(value) && !Number.isSafeInteger(value) && context?.source
      ? BigInt(context.source)
      : value,
  );
}

function errorMessage(text, response) {
  try {
    const body = JSON.parse(text);
    if (body && typeof body.detail === "string") return body.detail;
  } catch {
    // not JSON: fall through to the status line
  }
  return `the console answered ${response.status} ${response.statusText}`.trim();
}

function showLoading() {
  disableExport();
  $("view").setAttribute("aria-busy", "true");
  $("status").textContent = "Loading…";
  $("error").hidden = true;
}

function showError(message) {
  disableExport();
  $("view").setAttribute("aria-busy", "false");
  $("status").textContent = "";
  $("error").textContent = message;
  $("error").hidden = false;
  $("chart").hidden = true;
  for (const part of ["thead", "tbody", "tfoot"]) $("table").querySelector(part).replaceChildren();
  $("table-caption").textContent = "";
  $("period-title").textContent = "";
  shownColumns = null; // the table is empty: the next view opens at its latest column again
}

// ---- export link ------------------------------------------------------------------------------

// "Export all" downloads the view on screen: while another view loads, or none could be shown,
// there is nothing to download, and a link to the previous view would download the wrong file.
function disableExport() {
  const link = $("export");
  link.removeAttribute("href");
  link.removeAttribute("download");
  link.setAttribute("role", "link"); // an <a> without href is no link to assistive technology
  link.setAttribute("aria-disabled", "true");
}

function enableExport(query, filename) {
  const link = $("export");
  const exportQuery = new URLSearchParams({ ...query, cluster: query.cluster ?? "" });
  link.href = `${API}/export?${exportQuery}`;
  link.setAttribute("download", filename);
  link.removeAttribute("role");
  link.removeAttribute("aria-disabled");
}

// ---- formatting (display only) ----------------------------------------------------------------

function formatterFor(report) {
  const unit = report.unit;
  const binary = report.prices.gb_unit === "binary";
  if (unit === "bytes") return { text: (v) => readableBytes(v, binary), title: (v) => `${exact(v)} bytes` };
  if (unit === "percent") return { text: percent, title: (v) => `${v} %` };
  return { ...moneyFormat(unit), title: (v) => `${v} ${unit}` };
}

// Money shows at the currency's usual decimals, rounded half-up. An amount that would read as
// zero there (0.00045 USD as "$0.00") shows two significant digits instead ("$0.00045"): on a
// quiet cluster every cell is below a cent, and a table of "$0.00" hides who pays what.
function moneyFormat(currency) {
  const options = { style: "currency", currency, roundingMode: "halfExpand" };
  const usual = new Intl.NumberFormat(locale, options);
  // Both bounds: two digits always, so 0.00020 stands beside 0.00019 (not 0.0002).
  const small = new Intl.NumberFormat(locale, {
    ...options,
    minimumSignificantDigits: 2,
    maximumSignificantDigits: 2,
  });
  const digits = usual.resolvedOptions().maximumFractionDigits;
  const tickFormat = new Intl.NumberFormat(locale, {
    ...options,
    minimumFractionDigits: digits,
    maximumFractionDigits: 20,
  });
  return {
    text: (value) => (readsAsZero(usual, value) && Number(value) !== 0 ? small : usual).format(value),
    // Axis ticks are round numbers: each shows exactly (at least the usual decimals), so that
    // ticks 0.005 apart never read the same. toPrecision drops binary noise (0.30000000000000004).
    tick: (value) => tickFormat.format(String(Number(Number(value).toPrecision(12)))),
  };
}

function readsAsZero(format, value) {
  return format
    .formatToParts(value)
    .every((part) => (part.type !== "integer" && part.type !== "fraction") || /^0+$/.test(part.value));
}

function exact(value) {
  return new Intl.NumberFormat(locale).format(value);
}

function percent(value) {
  const format = new Intl.NumberFormat(locale, {
    minimumFractionDigits: 1,
    maximumFractionDigits: 1,
    roundingMode: "halfExpand",
  });
  return `${format.format(value)} %`;
}

function readableBytes(value, binary) {
  const base = binary ? 1024 : 1000;
  const units = binary
    ? ["bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"]
    : ["bytes", "kB", "MB", "GB", "TB", "PB", "EB"];
  let scaled = Number(value);
  let index = 0;
  while (Math.abs(scaled) >= base && index < units.length - 1) {
    scaled /= base;
    index += 1;
  }
  if (index === 0) return `${exact(value)} bytes`;
  const format = new Intl.NumberFormat(locale, { maximumFractionDigits: 2 });
  return `${format.format(scaled)} ${units[index]}`;
}

function priceLine(prices) {
  const gb = prices.gb_unit === "binary" ? "GiB" : "GB";
  return (
    `Prices: ${prices.ingress_per_gb} ${prices.currency} per produced ${gb}, ` +
    `${prices.egress_per_gb} ${prices.currency} per consumed ${gb} ` +
    `(1 ${gb} = ${exact(prices.bytes_per_gb)} bytes).`
  );
}

// ---- rendering ------------------------------------------------------------------------------

function render(report) {
  lastReport = report;
  $("view").setAttribute("aria-busy", "false");
  $("error").hidden = true;
  const query = report.query;
  const where = query.cluster ? `cluster ${query.cluster}` : "all clusters";
  $("period-title").replaceChildren(
    `${TAB_LABELS[query.tab]}: `,
    unbroken(report.first_day),
    " to ",
    unbroken(report.last_day),
    ` (${query.tz}, ${where})`,
  );
  $("prices").textContent = priceLine(report.prices);
  if (!state.asOf) $("as-of").value = query.asOf;
  enableExport(query, report.export_filename);
  renderTable(report, formatterFor(report));
  if (report.rows.length === 0) {
    $("status").textContent = query.filter
      ? `No service account matches “${query.filter}” in this period.`
      : "No usage in this period.";
    $("chart").hidden = true;
  } else {
    $("status").textContent = "";
    $("chart").hidden = false;
    drawChart(report, formatterFor(report));
  }
}

// A date never breaks across lines ("2026-12-" / "04" on a phone).
function unbroken(text) {
  const span = document.createElement("span");
  span.className = "unbroken";
  span.textContent = text;
  return span;
}

// "2026-11-30:desc" → ["2026-11-30", "desc"]; a column name may itself hold colons.
function splitSort(sort) {
  return sort.split(/:(?=[^:]*$)/);
}

function renderTable(report, format) {
  const [column, direction] = splitSort(report.query.sort);
  const focused = document.activeElement?.closest("#table thead") ? document.activeElement.dataset.column : null;
  const head = document.createElement("tr");
  head.append(sortHeader("Service account", "service_account", column, direction, false));
  for (const bucket of report.buckets) head.append(sortHeader(bucket.label, bucket.label, column, direction, true));
  head.append(sortHeader("Total", "total", column, direction, true));
  head.lastChild.classList.add("total");
  $("table").querySelector("thead").replaceChildren(head);

  const body = report.rows.map((row) => tableRow(row.service_account, row.cells, row.total, format));
  $("table").querySelector("tbody").replaceChildren(...body);
  const totals = report.rows.length ? [tableRow("Total", report.column_totals, report.grand_total, format)] : [];
  $("table").querySelector("tfoot").replaceChildren(...totals);
  const count = report.rows.length;
  // In a span that sticks to the left edge: the caption is as wide as the table, and its text
  // would scroll out of view with the first columns.
  const caption = document.createElement("span");
  caption.textContent = `${count} service account${count === 1 ? "" : "s"}; values in ${captionUnit(report)}.`;
  $("table-caption").replaceChildren(caption);
  // The header a keyboard user sorted by was replaced: give the focus to its successor.
  if (focused) $("table").querySelector(`thead button[data-column="${CSS.escape(focused)}"]`)?.focus();
  scrollToLatest(report);
}

// The latest buckets are the ones people look at first (on a fresh store the only ones with
// usage), and Total sticks to the right edge: so a new set of columns opens scrolled to its
// end. The same columns again (another sort, filter or tab) keep the place the reader scrolled
// to.
function scrollToLatest(report) {
  const columns = report.buckets.map((bucket) => bucket.label).join(" ");
  if (columns !== shownColumns) $("table-wrap").scrollLeft = $("table-wrap").scrollWidth;
  shownColumns = columns;
}

// A column header reached with Tab is scrolled out from under the sticky names and Total (the
// browser's own focus scrolling leaves a half-covered header where it is).
function revealHeader(event) {
  const cell = event.target.closest("th");
  const row = cell?.parentElement;
  if (!cell || cell === row.firstChild || cell === row.lastChild) return;
  const wrap = $("table-wrap");
  const start = cell.offsetLeft - row.firstChild.offsetWidth;
  const end = cell.offsetLeft + cell.offsetWidth - (wrap.clientWidth - row.lastChild.offsetWidth);
  if (wrap.scrollLeft > start) wrap.scrollLeft = start;
  else if (wrap.scrollLeft < end) wrap.scrollLeft = end;
}

function captionUnit(report) {
  if (report.unit === "bytes") return "bytes";
  if (report.unit === "percent") return "percent of the tab's total";
  return report.unit;
}

function sortHeader(label, key, sortColumn, sortDirection, numeric) {
  const cell = document.createElement("th");
  cell.scope = "col";
  if (numeric) cell.className = "num";
  const button = document.createElement("button");
  button.type = "button";
  button.dataset.column = key;
  const active = key === sortColumn;
  const arrow = active ? (sortDirection === "desc" ? " ▼" : " ▲") : "";
  button.textContent = label + arrow;
  if (active) cell.setAttribute("aria-sort", sortDirection === "desc" ? "descending" : "ascending");
  const next = active ? (sortDirection === "desc" ? "asc" : "desc") : numeric ? "desc" : "asc";
  button.setAttribute("aria-label", `${label}: sort ${next === "asc" ? "ascending" : "descending"}`);
  button.addEventListener("click", () => setState({ sort: `${key}:${next}` }));
  cell.append(button);
  return cell;
}

function tableRow(name, cells, total, format) {
  const row = document.createElement("tr");
  const header = document.createElement("th");
  header.scope = "row";
  header.textContent = name;
  row.append(header);
  for (const value of [...cells, total]) {
    const cell = document.createElement("td");
    cell.className = "num";
    cell.textContent = format.text(value);
    cell.title = format.title(value);
    row.append(cell);
  }
  row.lastChild.classList.add("total");
  return row;
}

// ECharts' legend, as drawn below the chart: items (icon, gap, name) itemGap apart, wrapped onto
// as many rows as the chart's width needs. A paging legend would hide names behind arrows on a
// phone; a wrapping one needs room that ECharts does not make, so legendHeight works it out.
const LEGEND = { itemWidth: 25, itemHeight: 14, itemGap: 10, textGap: 5, padding: 5, fontSize: 12 };
const PLOT_HEIGHT_PX = { narrow: 220, wide: 300 };
const NARROW = window.matchMedia("(max-width: 640px)");
let measuring = null;

function legendHeight(names, chartWidth) {
  measuring ??= document.createElement("canvas").getContext("2d");
  measuring.font = `${LEGEND.fontSize}px sans-serif`;
  const available = chartWidth - 2 * LEGEND.padding;
  let rows = 1;
  let used = 0;
  for (const name of names) {
    const item = LEGEND.itemWidth + LEGEND.textGap + Math.ceil(measuring.measureText(name).width);
    if (used > 0 && used + LEGEND.itemGap + item > available) {
      rows += 1;
      used = item;
    } else {
      used += (used > 0 ? LEGEND.itemGap : 0) + item;
    }
  }
  return rows * LEGEND.itemHeight + (rows - 1) * LEGEND.itemGap + 2 * LEGEND.padding;
}

function drawChart(report, format) {
  if (!window.echarts) return;
  if (!chart) {
    // SVG: crisp at any zoom, and the axis labels are text that tests and readers can find.
    chart = window.echarts.init($("chart"), null, { renderer: "svg" });
    window.addEventListener("resize", () => lastReport?.rows.length && drawChart(lastReport, formatterFor(lastReport)));
  }
  const legendPx = legendHeight(report.chart.map((series) => series.name), $("chart").clientWidth);
  $("chart").style.height = `${PLOT_HEIGHT_PX[NARROW.matches ? "narrow" : "wide"] + legendPx}px`;
  chart.resize();
  chart.setOption(
    {
      animation: false,
      tooltip: { trigger: "axis", valueFormatter: (value) => format.text(String(value)) },
      legend: {
        type: "plain",
        bottom: 0,
        itemWidth: LEGEND.itemWidth,
        itemHeight: LEGEND.itemHeight,
        itemGap: LEGEND.itemGap,
        padding: LEGEND.padding,
        textStyle: { fontSize: LEGEND.fontSize },
      },
      grid: { left: 8, right: 16, top: 16, bottom: legendPx + 8, containLabel: true },
      xAxis: { type: "category", data: report.buckets.map((bucket) => bucket.label) },
      yAxis: { type: "value", axisLabel: { formatter: (value) => (format.tick ?? format.text)(String(value)) } },
      series: report.chart.map((series) => ({
        name: series.name,
        type: "bar",
        stack: "total",
        emphasis: { focus: "series" },
        itemStyle: series.is_other ? { color: "#9aa3af" } : undefined,
        data: series.values.map(Number), // bar heights only; exact values are in the table
      })),
    },
    { notMerge: true },
  );
}

// ---- controls -------------------------------------------------------------------------------

// `fromHistory`: Back/Forward replace the whole view, the filter box too, even while it has the
// focus (otherwise the box is left alone while it has the focus, not to undo what is being typed).
function syncControls({ fromHistory = false } = {}) {
  const tab = current("tab");
  for (const button of document.querySelectorAll("[role=tab]")) {
    const selected = button.dataset.tab === tab;
    button.setAttribute("aria-selected", String(selected));
    button.tabIndex = selected ? 0 : -1;
    if (selected) $("view").setAttribute("aria-labelledby", button.id);
  }
  for (const radio of document.querySelectorAll("input[name=period]")) {
    radio.checked = radio.value.toUpperCase() === current("period").toUpperCase();
  }
  const metric = $("metric");
  metric.querySelector("option[value=bytes]").disabled = tab === "overall";
  metric.value = current("metric") || "cost";
  if (state.asOf) $("as-of").value = state.asOf;
  $("tz").value = current("tz");
  $("cluster").value = state.cluster ?? "";
  if (fromHistory || document.activeElement !== $("filter")) $("filter").value = state.filter ?? "";
}

function chooseTab(tab) {
  // Overall Cost has no bytes metric: fall back to cost rather than show an error.
  const metric = tab === "overall" && state.metric === "bytes" ? "" : state.metric;
  setState({ tab, metric });
}

function onTabKey(event) {
  const tabs = [...document.querySelectorAll("[role=tab]")];
  const index = tabs.indexOf(event.target);
  const moves = { ArrowRight: index + 1, ArrowLeft: index - 1, Home: 0, End: tabs.length - 1 };
  if (!(event.key in moves)) return;
  event.preventDefault();
  const next = tabs[(moves[event.key] + tabs.length) % tabs.length];
  next.focus();
  chooseTab(next.dataset.tab);
}

// A sort by a day or month means nothing once the columns change (another period, last day or
// zone): it falls back to the default sort rather than to an error about a missing column.
function withColumnsChanged(changes) {
  const [column] = splitSort(state.sort ?? "");
  const isBucketSort = column !== "" && column !== "service_account" && column !== "total";
  return isBucketSort ? { ...changes, sort: "" } : changes;
}

function wireControls() {
  for (const button of document.querySelectorAll("[role=tab]")) {
    button.addEventListener("click", () => chooseTab(button.dataset.tab));
    button.addEventListener("keydown", onTabKey);
  }
  for (const radio of document.querySelectorAll("input[name=period]")) {
    radio.addEventListener("change", () => setState(withColumnsChanged({ period: radio.value })));
  }
  $("metric").addEventListener("change", (event) => setState({ metric: event.target.value }));
  $("as-of").addEventListener("change", (event) => setState(withColumnsChanged({ asOf: event.target.value })));
  $("tz").addEventListener("change", (event) => setState(withColumnsChanged({ tz: event.target.value.trim() })));
  $("cluster").addEventListener("change", (event) => setState({ cluster: event.target.value }));
  $("filter").addEventListener("input", (event) => {
    clearTimeout(filterTimer);
    disableExport(); // the table on screen no longer matches the filter typed
    const text = event.target.value;
    filterTimer = setTimeout(() => setState({ filter: text }, { replace: true }), FILTER_DELAY_MS);
  });
  $("controls").addEventListener("submit", (event) => event.preventDefault());
  $("table").querySelector("thead").addEventListener("focusin", revealHeader);
  window.addEventListener("popstate", () => {
    clearTimeout(filterTimer); // a filter typed just before Back must not come back after it
    state = readState();
    syncControls({ fromHistory: true });
    load();
  });
}

// ---- price dialog (admins) --------------------------------------------------------------------

const PRICE_FIELDS = ["ingress_per_gb", "egress_per_gb", "currency", "gb_unit"];

function wirePriceDialog() {
  const dialog = $("price-dialog");
  if (!dialog) return;
  $("open-prices").addEventListener("click", () => openPriceDialog(dialog));
  $("cancel-prices").addEventListener("click", () => dialog.close());
  $("price-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    await savePrices(dialog);
  });
}

// Without the prices in force there is nothing to edit: the dialog says why and offers Cancel.
async function openPriceDialog(dialog) {
  clearPriceErrors();
  const answer = await callApi("/api/v1/pricing", { headers: { Accept: "application/json" } });
  if (answer.status === 401) return goToLogin();
  const prices = answer.ok ? JSON.parse(answer.text) : null;
  for (const name of PRICE_FIELDS) $(name).value = prices ? prices[name] : "";
  $("save-prices").disabled = !prices;
  if (!prices) showPriceError(`The prices could not be loaded: ${answer.message}.`);
  dialog.showModal();
  (prices ? $("ingress_per_gb") : $("cancel-prices")).focus();
}

async function savePrices(dialog) {
  clearPriceErrors();
  const body = Object.fromEntries(PRICE_FIELDS.map((name) => [name, $(name).value]));
  const answer = await callApi("/api/v1/pricing", {
    method: "PUT",
    headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRF-Token": csrfToken },
    body: JSON.stringify(body),
  });
  if (answer.status === 401) return goToLogin();
  if (answer.ok) {
    dialog.close();
    load();
    return;
  }
  const errors = fieldErrors(answer.text);
  if (!errors) return showPriceError(`The prices were not saved: ${answer.message}.`);
  for (const [name, message] of Object.entries(errors)) {
    $(`${name}-error`).textContent = message;
    $(name).setAttribute("aria-invalid", "true");
  }
  $(Object.keys(errors)[0]).focus();
}

// The API's message per invalid field (a 422 names each), or null when the answer has none.
function fieldErrors(text) {
  try {
    return JSON.parse(text).errors ?? null;
  } catch {
    return null;
  }
}

function showPriceError(message) {
  $("price-error").textContent = message;
  $("price-error").hidden = false;
}

function clearPriceErrors() {
  $("price-error").hidden = true;
  for (const name of PRICE_FIELDS) {
    $(`${name}-error`).textContent = "";
    $(name).removeAttribute("aria-invalid");
  }
}

wireControls();
wirePriceDialog();
syncControls();
load();
