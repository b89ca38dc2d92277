// A chart drawn by Apache ECharts (only the line, bar and pie charts, the grid, tooltip, legend and
// dataset components and the canvas renderer are bundled): line, bar, area (a line with its area
// filled) and pie. Colours follow the console's theme; the chart resizes with its element.
import { BarChart, LineChart, PieChart } from "echarts/charts";
import {
  DatasetComponent,
  GridComponent,
  LegendComponent,
  TooltipComponent,
} from "echarts/components";
import { init, use, type EChartsCoreOption } from "echarts/core";
import { CanvasRenderer } from "echarts/renderers";
import type { PlotData } from "../tile_data";

use([
  LineChart,
  BarChart,
  PieChart,
  GridComponent,
  TooltipComponent,
  LegendComponent,
  DatasetComponent,
  CanvasRenderer,
]);

export type PlotKind = "line" | "bar" | "area" | "pie";

export interface Chart {
  dispose(): void;
}

const MARKER_LIMIT = 60; // more points than this: lines without markers

function themeColors() {
  const style = getComputedStyle(document.documentElement);
  const variable = (name: string) => style.getPropertyValue(name).trim();
  return {
    text: variable("--text"),
    muted: variable("--muted"),
    border: variable("--border"),
    surface: variable("--surface"),
  };
}

function chartOption(kind: PlotKind, data: PlotData): EChartsCoreOption {
  const colors = themeColors();
  const legend = {
    show: kind === "pie" || data.series.length > 1,
    type: "scroll",
    top: 0,
    textStyle: { color: colors.muted },
  };
  const tooltip = {
    backgroundColor: colors.surface,
    borderColor: colors.border,
    textStyle: { color: colors.text },
  };
  const dataset = { dimensions: [data.x, ...data.series], source: data.source };
  if (kind === "pie") {
    return {
      animation: false,
      dataset,
      legend,
      tooltip: { ...tooltip, trigger: "item" },
      series: [
        {
          type: "pie",
          radius: ["35%", "70%"],
          top: 24,
          encode: { itemName: data.x, value: data.series[0] },
          label: { color: colors.text },
          itemStyle: { borderColor: colors.surface, borderWidth: 1 },
        },
      ],
    };
  }
  const axisLine = { lineStyle: { color: colors.border } };
  return {
    animation: false,
    dataset,
    legend,
    tooltip: { ...tooltip, trigger: "axis" },
    grid: { left: 8, right: 16, top: legend.show ? 32 : 12, bottom: 8, containLabel: true },
    xAxis: { type: "category", axisLine, axisLabel: { color: colors.muted } },
    yAxis: {
      type: "value",
      axisLabel: { color: colors.muted },
      splitLine: { lineStyle: { color: colors.border } },
    },
    series: data.series.map((name) => ({
      type: kind === "bar" ? "bar" : "line",
      name,
      encode: { x: data.x, y: name },
      showSymbol: data.source.length <= MARKER_LIMIT,
      areaStyle: kind === "area" ? { opacity: 0.25 } : undefined,
    })),
  };
}

/** Draws `data` into `element` (which must have a size). */
export function renderChart(element: HTMLElement, kind: PlotKind, data: PlotData): Chart {
  const chart = init(element, null, { renderer: "canvas" });
  chart.setOption(chartOption(kind, data));
  const resize = new ResizeObserver(() => chart.resize());
  resize.observe(element);
  // The theme toggle sets data-theme on <html>: draw again in its colours.
  const theme = new MutationObserver(() => chart.setOption(chartOption(kind, data)));
  theme.observe(document.documentElement, { attributes: true, attributeFilter: ["data-theme"] });
  return {
    dispose() {
      resize.disconnect();
      theme.disconnect();
      chart.dispose();
    },
  };
}
