// A picture of the worker's Grafana dashboard, drawn from its layout when the worker is generated,
// so the worker's README shows what the team gets before anyone starts Grafana.

interface Panel {
  title: string;
  type: string;
  description?: string;
  gridPos: { x: number; y: number; w: number; h: number };
}

const COLUMN = 40; // px per grid column: Grafana's 24 columns make 960 px
const ROW = 24; // px per grid row
const HEADER = 44;
const GAP = 6;

export function dashboardPicture(dashboardJson: string): string {
  const { title, panels } = JSON.parse(dashboardJson) as { title: string; panels: Panel[] };
  const height = HEADER + Math.max(...panels.map(({ gridPos }) => gridPos.y + gridPos.h)) * ROW + GAP;
  const width = 24 * COLUMN + GAP;
  const drawn = panels.map((panel) => drawPanel(panel)).join('\n');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif">
  <title>${xml(title)}: the Grafana dashboard</title>
  <rect width="${width}" height="${height}" fill="#111217"/>
  <text x="${GAP + 4}" y="28" fill="#ccccdc" font-size="18" font-weight="bold">${xml(title)}</text>
  <text x="${width - GAP - 4}" y="28" fill="#8e8e9e" font-size="12" text-anchor="end">Queue: All · Last 6 hours</text>
${drawn}
</svg>
`;
}

function drawPanel({ title, type, gridPos }: Panel): string {
  const x = GAP + gridPos.x * COLUMN;
  const y = HEADER + gridPos.y * ROW;
  const w = gridPos.w * COLUMN - GAP;
  const h = gridPos.h * ROW - GAP;
  const body = type === 'stat' ? statSketch(x, y, w, h) : lineSketch(x, y, w, h, title.length);
  return `  <g>
    <rect x="${x}" y="${y}" width="${w}" height="${h}" rx="3" fill="#181b1f" stroke="#2c3235"/>
    <text x="${x + 8}" y="${y + 18}" fill="#ccccdc" font-size="13">${xml(title)}</text>
${body}
  </g>`;
}

function statSketch(x: number, y: number, w: number, h: number): string {
  return `    <text x="${x + w / 2}" y="${y + h / 2 + 14}" fill="#73bf69" font-size="36" text-anchor="middle">0</text>`;
}

/** A plausible line, the same every time for the same panel (seeded by its title). */
function lineSketch(x: number, y: number, w: number, h: number, seed: number): string {
  const top = y + 30;
  const bottom = y + h - 10;
  const points = Array.from({ length: 25 }, (_, index) => {
    const wave = Math.sin(index / 3 + seed) * 0.3 + Math.sin(index / 7 + seed * 2) * 0.2;
    const px = x + 10 + (index / 24) * (w - 20);
    const py = bottom - (0.45 + wave) * (bottom - top);
    return `${px.toFixed(1)},${py.toFixed(1)}`;
  });
  return `    <polyline points="${points.join(' ')}" fill="none" stroke="#5794f2" stroke-width="2"/>`;
}

export function xml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
