// A tiny bar chart of daily counts (the issue list's last 14 days), drawn as SVG.
export function Sparkline({ values, label }: { values: number[]; label: string }) {
  const max = Math.max(1, ...values);
  const width = values.length * 6;
  return (
    <svg className="sparkline" width={width} height={24} viewBox={`0 0 ${width} 24`} role="img" aria-label={label}>
      {values.map((value, i) => {
        const height = value === 0 ? 1 : Math.max(2, (value / max) * 24);
        // biome-ignore lint/suspicious/noArrayIndexKey: the index is the day the bar stands for
        return <rect key={i} x={i * 6} y={24 - height} width={4} height={height} />;
      })}
    </svg>
  );
}
