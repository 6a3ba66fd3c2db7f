// The operator dashboard: polls the stats API and redraws. Plain browser JavaScript, no build step; uPlot is
// served by the gateway from its own node_modules. Text goes in with textContent only (profile names are data).

const POLL_MS = 2000;
const STATS_URL = '/v1/subnets?include=series,miners';
const PALETTE = ['#2f7ed8', '#d9534f', '#5cb85c', '#f0ad4e', '#8e44ad', '#16a085', '#e67e22', '#7f8c8d'];

const charts = { latency: undefined, traffic: undefined, netuids: '' };

function chartOptions(title, subnets, unit) {
  const width = document.getElementById('latency-chart').clientWidth || 900;
  return {
    title,
    width,
    height: 240,
    scales: { x: { time: true } },
    axes: [{}, { label: unit, size: 60 }],
    series: [
      {},
      ...subnets.map((subnet, i) => ({
        label: `sn${subnet.netuid} ${subnet.name}`,
        stroke: PALETTE[i % PALETTE.length],
        width: 2,
        spanGaps: true,
        points: { size: 4 },
      })),
    ],
  };
}

/** uPlot's columnar data: one x axis (seconds) shared by every subnet's series, nulls where one is silent. */
function columns(subnets, pick) {
  const times = [...new Set(subnets.flatMap((subnet) => subnet.series.map((point) => point.t)))].sort(
    (a, b) => a - b,
  );
  const ys = subnets.map((subnet) => {
    const byTime = new Map(subnet.series.map((point) => [point.t, pick(point)]));
    return times.map((t) => byTime.get(t) ?? null);
  });
  return [times.map((t) => t / 1000), ...ys];
}

function drawCharts(subnets) {
  const key = subnets.map((subnet) => subnet.netuid).join(',');
  const latency = columns(subnets, (point) => point.p50_ms);
  const traffic = columns(subnets, (point) => point.requests);
  if (charts.netuids !== key) {
    charts.latency?.destroy();
    charts.traffic?.destroy();
    const latencyEl = document.getElementById('latency-chart');
    const trafficEl = document.getElementById('traffic-chart');
    charts.latency = new uPlot(chartOptions('p50 latency', subnets, 'ms'), latency, latencyEl);
    charts.traffic = new uPlot(chartOptions('requests', subnets, 'req / 5 s'), traffic, trafficEl);
    charts.netuids = key;
    return;
  }
  charts.latency.setData(latency);
  charts.traffic.setData(traffic);
}

function percent(rate) {
  return rate === null || rate === undefined ? '–' : `${(rate * 100).toFixed(1)}%`;
}

function number(value) {
  return value === null || value === undefined ? '–' : String(Math.round(value * 10) / 10);
}

function fillRows(tbody, rows) {
  const fresh = rows.map(({ key, cells, bad }) => {
    const tr = document.createElement('tr');
    tr.dataset.key = key;
    cells.forEach((text, i) => {
      const td = document.createElement('td');
      td.textContent = text;
      if (bad?.includes(i)) td.className = 'bad';
      tr.append(td);
    });
    return tr;
  });
  tbody.replaceChildren(...fresh);
}

function drawSubnets(subnets) {
  fillRows(
    document.querySelector('#subnets tbody'),
    subnets.map((subnet) => {
      const t = subnet.traffic;
      return {
        key: `sn${subnet.netuid}`,
        cells: [
          `sn${subnet.netuid} ${subnet.name}`,
          String(t.requests),
          percent(t.success_rate),
          number(t.latency_ms.p50),
          number(t.latency_ms.p95),
          number(t.latency_ms.p99),
          number(t.first_token_ms.p50),
          percent(t.cache.hit_rate),
          `${subnet.active_miners} / ${subnet.routable_miners}`,
          String(subnet.open_circuits),
        ],
        bad: [
          ...(t.success_rate !== null && t.success_rate < 0.95 ? [2] : []),
          ...(subnet.open_circuits > 0 ? [9] : []),
        ],
      };
    }),
  );
}

function drawMiners(subnets) {
  const rows = subnets.flatMap((subnet) =>
    subnet.miners
      .filter((miner) => miner.observed_rank !== null)
      .sort((a, b) => a.observed_rank - b.observed_rank)
      .slice(0, 3)
      .map((miner) => ({
        key: `sn${subnet.netuid}/uid${miner.uid}`,
        cells: [
          `sn${subnet.netuid}`,
          String(miner.uid),
          String(miner.observed_rank),
          String(miner.on_chain_rank),
          percent(miner.success_rate),
          number(miner.latency_ewma_ms),
          number(miner.latency_p95_ms),
          String(miner.in_flight),
          miner.circuit,
        ],
        bad: miner.circuit === 'closed' ? [] : [8],
      })),
  );
  fillRows(document.querySelector('#miners tbody'), rows);
}

async function refresh() {
  const status = document.getElementById('status');
  try {
    const response = await fetch(STATS_URL, { cache: 'no-store' });
    if (!response.ok) throw new Error(`stats API answered ${response.status}`);
    const subnets = (await response.json()).data;
    drawCharts(subnets);
    drawSubnets(subnets);
    drawMiners(subnets);
    const total = subnets.reduce((sum, subnet) => sum + subnet.traffic.requests, 0);
    status.textContent = `${total} requests served · updated ${new Date().toLocaleTimeString()}`;
    status.dataset.live = 'true';
  } catch (error) {
    status.textContent = `stats unavailable: ${error.message}`;
    status.dataset.live = 'false';
  }
}

refresh();
setInterval(refresh, POLL_MS);
