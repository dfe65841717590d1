//! The report's chart: unique visitors per day as bars, drawn into pixels here and encoded as a
//! PNG that the e-mail carries inline (`cid:`), so it shows in mail clients that block remote
//! images. No text is drawn: the figures are in the HTML beside it (and in the `alt` text).

/// Width in pixels (drawn at twice the size it is shown, for sharp high-DPI screens).
pub const WIDTH: u32 = 1200;
/// Height in pixels.
pub const HEIGHT: u32 = 360;

const BACKGROUND: [u8; 3] = [0xff, 0xff, 0xff];
const BAR: [u8; 3] = [0x4f, 0x46, 0xe5];
const GRID: [u8; 3] = [0xe5, 0xe7, 0xeb];
const PADDING: u32 = 16;

/// Draws `values` (one bar each, in order) and encodes the PNG.
pub fn bars(values: &[i64]) -> Result<Vec<u8>, png::EncodingError> {
    let mut pixels = vec![0u8; (WIDTH * HEIGHT * 3) as usize];
    for pixel in pixels.chunks_exact_mut(3) {
        pixel.copy_from_slice(&BACKGROUND);
    }
    let mut fill = |x0: u32, y0: u32, x1: u32, y1: u32, color: [u8; 3]| {
        for y in y0..y1.min(HEIGHT) {
            for x in x0..x1.min(WIDTH) {
                let at = ((y * WIDTH + x) * 3) as usize;
                pixels[at..at + 3].copy_from_slice(&color);
            }
        }
    };
    let plot_height = HEIGHT - 2 * PADDING;
    for quarter in 0..=4 {
        let y = PADDING + plot_height * quarter / 4;
        fill(PADDING, y, WIDTH - PADDING, y + 2, GRID);
    }
    let max = values.iter().copied().max().unwrap_or(0).max(1) as u64;
    let count = values.len().max(1) as u32;
    let slot = (WIDTH - 2 * PADDING) / count;
    let gap = (slot / 5).max(1);
    for (i, value) in values.iter().enumerate() {
        let height = (value.max(&0).unsigned_abs() * u64::from(plot_height) / max) as u32;
        let x0 = PADDING + slot * i as u32 + gap / 2;
        let bottom = PADDING + plot_height;
        fill(x0, bottom - height, x0 + slot - gap, bottom, BAR);
    }
    let mut out = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut out, WIDTH, HEIGHT);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        encoder.set_compression(png::Compression::High);
        let mut writer = encoder.write_header()?;
        writer.write_image_data(&pixels)?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(png_bytes: &[u8]) -> (png::OutputInfo, Vec<u8>) {
        let decoder = png::Decoder::new(std::io::Cursor::new(png_bytes));
        let mut reader = decoder.read_info().unwrap();
        let mut buffer = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut buffer).unwrap();
        (info, buffer)
    }

    fn is_bar(pixels: &[u8], x: u32, y: u32) -> bool {
        let at = ((y * WIDTH + x) * 3) as usize;
        pixels[at..at + 3] == BAR
    }

    #[test]
    fn bars_are_as_tall_as_their_values() {
        let (info, pixels) = decode(&bars(&[10, 0, 5, 10]).unwrap());
        assert_eq!((info.width, info.height), (WIDTH, HEIGHT));
        let slot = (WIDTH - 2 * PADDING) / 4;
        let middle = |i: u32| PADDING + slot * i + slot / 2;
        let top = PADDING + 1;
        let half = PADDING + (HEIGHT - 2 * PADDING) / 2 + 2;
        let bottom = HEIGHT - PADDING - 1;
        // Full bars reach the top; the empty day has no bar; the half bar reaches half way.
        assert!(is_bar(&pixels, middle(0), top) && is_bar(&pixels, middle(3), top));
        assert!(!is_bar(&pixels, middle(1), bottom));
        assert!(!is_bar(&pixels, middle(2), top) && is_bar(&pixels, middle(2), half));
        assert!(is_bar(&pixels, middle(2), bottom));
    }

    #[test]
    fn no_traffic_draws_an_empty_chart() {
        let (_, pixels) = decode(&bars(&[0; 7]).unwrap());
        assert!(!pixels.chunks_exact(3).any(|pixel| pixel == BAR));
        let (_, pixels) = decode(&bars(&[1; 7]).unwrap());
        assert!(pixels.chunks_exact(3).any(|pixel| pixel == BAR));
    }
}
