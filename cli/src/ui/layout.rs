//! The lineage graph laid out for the page: longest-path layering (a step sits one layer below
//! its deepest parent), then barycentre ordering within layers (a few sweeps down and up, as in
//! Sugiyama's method) to shorten edges and cut crossings. Wide layers wrap into several rows.
//!
//! Coordinates only: the page draws the boxes and edges (as SVG elements, names as text).
//! A parent outside the report's rows (folded past its row cap) is one "earlier steps" box on
//! top.

use serde::Serialize;
use stepstone::report::RunReport;

use crate::cmd::runs::lineage::edges;

/// Box size and gaps, in SVG user units.
const NODE_W: u32 = 180;
const NODE_H: u32 = 44;
const GAP_X: u32 = 24;
const GAP_Y: u32 = 40;
const MARGIN: u32 = 16;
/// Boxes per row before a layer wraps.
const ROW_MAX: usize = 24;
/// Ordering sweeps (each one down and one up).
const SWEEPS: usize = 3;

/// One step's box.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct NodeBox {
    /// Index into the report's `steps`; `None` for the "earlier steps" box.
    pub(crate) row: Option<usize>,
    /// Layer (0: no parent among the rows).
    pub(crate) layer: u32,
    /// Top-left corner.
    pub(crate) x: u32,
    /// Top-left corner.
    pub(crate) y: u32,
}

/// The laid-out graph.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Layout {
    /// Width of the drawing.
    pub(crate) width: u32,
    /// Height of the drawing.
    pub(crate) height: u32,
    /// Box width.
    pub(crate) node_w: u32,
    /// Box height.
    pub(crate) node_h: u32,
    /// One box per step row (in row order), then the "earlier steps" box if any.
    pub(crate) nodes: Vec<NodeBox>,
    /// `[from, to]` as indexes into `nodes`.
    pub(crate) edges: Vec<[usize; 2]>,
}

/// Lay out the report's steps.
pub(crate) fn layout(report: &RunReport) -> Layout {
    let n = report.steps.len();
    let raw = edges(report);
    let earlier = raw.iter().any(|(p, _)| p.is_none()).then_some(n);
    let count = n + usize::from(earlier.is_some());
    let pairs: Vec<[usize; 2]> = raw
        .iter()
        .filter_map(|&(p, c)| Some([p.or(earlier)?, c]))
        .collect();
    let mut parents = vec![Vec::new(); count];
    let mut children = vec![Vec::new(); count];
    for &[p, c] in &pairs {
        parents[c].push(p);
        children[p].push(c);
    }
    let mut layers = layer_of(count, &parents, earlier);
    lower_sources(&mut layers, &parents, &children, earlier);
    let mut rows = order(&layers, &parents, &children);
    let nodes = place(&mut rows, &layers, earlier);
    let width = rows.iter().map(|r| r.len()).max().unwrap_or(0) as u32;
    let height = rows.len() as u32;
    Layout {
        width: 2 * MARGIN + width * (NODE_W + GAP_X),
        height: 2 * MARGIN + height * (NODE_H + GAP_Y),
        node_w: NODE_W,
        node_h: NODE_H,
        nodes,
        edges: pairs,
    }
}

/// Longest-path layers. Rows come in record order, so a parent row precedes its children; an
/// edge that does not (a malformed report) is ignored rather than looped on.
fn layer_of(count: usize, parents: &[Vec<usize>], earlier: Option<usize>) -> Vec<u32> {
    let mut layer = vec![0u32; count];
    let shift = u32::from(earlier.is_some());
    for node in 0..count {
        if Some(node) == earlier {
            continue;
        }
        let deepest = parents[node]
            .iter()
            .filter(|&&p| p < node || Some(p) == earlier)
            .map(|&p| if Some(p) == earlier { 0 } else { layer[p] + 1 })
            .max();
        layer[node] = deepest.unwrap_or(shift).max(shift);
    }
    layer
}

/// A step without parents sits just above its highest child rather than on top: an input read
/// late in the pipeline does not draw an edge across every layer.
fn lower_sources(
    layers: &mut [u32],
    parents: &[Vec<usize>],
    children: &[Vec<usize>],
    earlier: Option<usize>,
) {
    for node in 0..layers.len() {
        if !parents[node].is_empty() || Some(node) == earlier {
            continue;
        }
        if let Some(highest) = children[node].iter().map(|&c| layers[c]).min() {
            layers[node] = layers[node].max(highest.saturating_sub(1));
        }
    }
}

/// Nodes per layer, ordered by barycentre sweeps.
fn order(layers: &[u32], parents: &[Vec<usize>], children: &[Vec<usize>]) -> Vec<Vec<usize>> {
    let depth = layers.iter().max().map_or(0, |d| *d as usize + 1);
    let mut rows: Vec<Vec<usize>> = vec![Vec::new(); depth];
    for (node, &l) in layers.iter().enumerate() {
        rows[l as usize].push(node);
    }
    let mut pos = vec![0f64; layers.len()];
    let index = |rows: &Vec<Vec<usize>>, pos: &mut Vec<f64>| {
        for row in rows {
            for (i, &node) in row.iter().enumerate() {
                pos[node] = i as f64;
            }
        }
    };
    index(&rows, &mut pos);
    for _ in 0..SWEEPS {
        for l in 1..depth {
            sort_by_barycentre(&mut rows[l], parents, &pos);
            index(&rows, &mut pos);
        }
        for l in (0..depth.saturating_sub(1)).rev() {
            sort_by_barycentre(&mut rows[l], children, &pos);
            index(&rows, &mut pos);
        }
    }
    rows
}

/// Sort `row` by the mean position of each node's `neighbours` (a node without any keeps its
/// own position).
fn sort_by_barycentre(row: &mut [usize], neighbours: &[Vec<usize>], pos: &[f64]) {
    let mut keyed: Vec<(f64, usize)> = row
        .iter()
        .map(|&node| {
            let near = &neighbours[node];
            let key = if near.is_empty() {
                pos[node]
            } else {
                near.iter().map(|&m| pos[m]).sum::<f64>() / near.len() as f64
            };
            (key, node)
        })
        .collect();
    keyed.sort_by(|a, b| a.0.total_cmp(&b.0));
    for (slot, (_, node)) in row.iter_mut().zip(keyed) {
        *slot = node;
    }
}

/// Coordinates: each layer's rows (wrapped at [`ROW_MAX`]) centred on the widest row.
fn place(rows: &mut Vec<Vec<usize>>, layers: &[u32], earlier: Option<usize>) -> Vec<NodeBox> {
    let wrapped: Vec<Vec<usize>> = rows
        .iter()
        .flat_map(|row| {
            row.chunks(ROW_MAX)
                .map(<[usize]>::to_vec)
                .collect::<Vec<_>>()
        })
        .collect();
    *rows = wrapped;
    let widest = rows.iter().map(Vec::len).max().unwrap_or(0) as u32;
    let mut nodes = vec![
        NodeBox {
            row: None,
            layer: 0,
            x: 0,
            y: 0
        };
        layers.len()
    ];
    for (r, row) in rows.iter().enumerate() {
        let offset = (widest - row.len() as u32) * (NODE_W + GAP_X) / 2;
        for (i, &node) in row.iter().enumerate() {
            nodes[node] = NodeBox {
                row: (Some(node) != earlier).then_some(node),
                layer: layers[node],
                x: MARGIN + offset + i as u32 * (NODE_W + GAP_X),
                y: MARGIN + r as u32 * (NODE_H + GAP_Y),
            };
        }
    }
    nodes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(parents: &[&[usize]]) -> RunReport {
        let json = serde_json::json!({
            "schema_version": 2, "run_id": "r", "pipeline": "p", "status": "completed",
            "error": null, "started_at": "t", "seconds": 0.0,
            "config": {"budget_bytes": 1, "checkpoint_dir": "d", "fresh": false, "jobs": 1,
                       "checkpoint_every": null},
            "budget_bytes": 1, "tracked_peak_bytes": 0, "rss_peak_bytes": 0,
            "steps": parents.iter().enumerate().map(|(i, ps)| serde_json::json!({
                "seq": i, "name": format!("s{i}"), "module": "m",
                "fingerprint": format!("{:032x}", i + 1), "policy": "memory-and-disk",
                "status": "executed", "reason": "", "seconds": 0.0, "executions": 1,
                "output_bytes": 0, "output_resident_bytes": 0, "spilled_bytes": 0,
                "reloaded_bytes": 0, "checkpoint": null, "output_type": "u64", "code": "c",
                "params_hash": "h",
                "parents": ps.iter().map(|p| format!("{:032x}", p + 1)).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
            "totals": {"steps_executed": 0, "steps_reused": 0, "steps_skipped": 0,
                       "steps_failed": 0, "checkpoints_written": 0, "checkpoint_bytes": 0,
                       "spills_written": 0, "spilled_bytes": 0, "reloaded_bytes": 0,
                       "objects_deleted": 0},
            "timeline": [], "events": []
        });
        serde_json::from_value(json).expect("a valid report")
    }

    #[test]
    fn a_step_sits_below_its_deepest_parent() {
        // 0 → 1 → 2, and 0 → 2: step 2 is on layer 2, not 1.
        let l = layout(&report(&[&[], &[0], &[0, 1], &[99]]));
        let layers: Vec<u32> = l.nodes.iter().map(|n| n.layer).collect();
        // Step 3's parent is not among the rows: an "earlier steps" box (layer 0) is added
        // and everything moves one layer down.
        assert_eq!(layers, vec![1, 2, 3, 1, 0]);
        assert_eq!(l.nodes[4].row, None);
        assert_eq!(l.edges.len(), 4);
        assert!(l.nodes[2].y > l.nodes[1].y && l.nodes[1].y > l.nodes[0].y);
    }

    #[test]
    fn a_source_read_late_sits_just_above_its_reader() {
        // 0 → 1 → 2 → 3, and 4 (no parent) read by 3 only: 4 sits on layer 2, not 0.
        let l = layout(&report(&[&[], &[0], &[1], &[2, 4], &[]]));
        let layers: Vec<u32> = l.nodes.iter().map(|n| n.layer).collect();
        assert_eq!(layers, vec![0, 1, 2, 3, 2]);
    }

    #[test]
    fn wide_layers_wrap_and_boxes_never_overlap() {
        let parents: Vec<&[usize]> = vec![&[]; 60];
        let l = layout(&report(&parents));
        let mut seen = std::collections::HashSet::new();
        for n in &l.nodes {
            assert!(seen.insert((n.x, n.y)), "two boxes at {},{}", n.x, n.y);
            assert!(n.x + NODE_W <= l.width && n.y + NODE_H <= l.height);
        }
        assert!(l.width <= 2 * MARGIN + ROW_MAX as u32 * (NODE_W + GAP_X));
    }
}
