//! The per-event bound on source-map lookups: an event whose frames name more than 20 distinct
//! files has only the first 20 files' frames symbolicated (so an event with thousands of
//! invented file names costs a bounded number of queries), while 20 files, or any number of
//! frames in 20 files, are all symbolicated (the positive controls).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use sourcemap::SourceMapBuilder;
use tenant::errors::event::{Exception, Frame};
use tenant::errors::symbolicate::SourceMaps;
use tenant::tables::{organizations, projects, release_files};
use tenant::test_support::TestDb;
use tenant::{DbError, OrgId};
use uuid::Uuid;

const RELEASE: &str = "shop@1.0.0";

fn url(file: usize) -> String {
    format!("https://shop.example/static/f{file}.min.js")
}

/// A minified file and its map: position 1:1 maps to `src/f{file}.js` line 10, column 5.
fn build(file: usize) -> (Vec<u8>, Vec<u8>) {
    let minified = format!("throw new Error({file})\n//# sourceMappingURL=f{file}.min.js.map\n");
    let mut builder = SourceMapBuilder::new(Some(&format!("f{file}.min.js")));
    builder.add(0, 0, 9, 4, Some(&format!("src/f{file}.js")), None, false);
    let mut map = Vec::new();
    builder.into_sourcemap().to_writer(&mut map).unwrap();
    (minified.into_bytes(), map)
}

/// One exception whose frames point at 1:1 of `files`, in order.
fn exception(files: &[usize]) -> Vec<Exception> {
    vec![Exception {
        kind: Some("Error".into()),
        frames: files
            .iter()
            .map(|file| Frame {
                abs_path: Some(url(*file)),
                filename: Some(url(*file)),
                lineno: Some(1),
                colno: Some(1),
                ..Frame::default()
            })
            .collect(),
        ..Exception::default()
    }]
}

fn mapped(frame: &Frame) -> bool {
    frame.minified.is_some()
        && frame
            .abs_path
            .as_deref()
            .is_some_and(|p| p.starts_with("src/"))
}

#[tokio::test]
async fn at_most_twenty_files_are_looked_up_per_event() {
    let db = TestDb::new(None).await.unwrap();
    let org = OrgId::generate();
    let org_id = org.uuid();
    let project_id: Uuid = db
        .db
        .scoped(org, async |conn| {
            organizations::create(conn, tenant::OrgId::from_uuid(org_id), "Maps").await?;
            let project = projects::create(
                conn,
                tenant::OrgId::from_uuid(org_id),
                "Shop",
                "UTC",
                &["shop.example".to_owned()],
            )
            .await?;
            let project_id = project.project.project_id;
            for file in 1..=25 {
                let (minified, map) = build(file);
                let name = format!("~/static/f{file}.min.js");
                release_files::put(
                    conn,
                    tenant::OrgId::from_uuid(org_id),
                    tenant::ProjectId::from_uuid(project_id),
                    RELEASE,
                    &name,
                    &minified,
                )
                .await?;
                let map_name = format!("{name}.map");
                release_files::put(
                    conn,
                    tenant::OrgId::from_uuid(org_id),
                    tenant::ProjectId::from_uuid(project_id),
                    RELEASE,
                    &map_name,
                    &map,
                )
                .await?;
            }
            Ok::<_, DbError>(project_id)
        })
        .await
        .unwrap();
    let symbolicate = async |files: Vec<usize>| {
        let mut exceptions = exception(&files);
        let maps = SourceMaps::default();
        let count = db
            .db
            .scoped(org, async |conn| {
                Ok::<_, DbError>(
                    maps.apply(conn, org_id, project_id, Some(RELEASE), &mut exceptions)
                        .await?,
                )
            })
            .await
            .unwrap();
        (count, exceptions.remove(0).frames)
    };

    // Positive control: 20 distinct files, every frame mapped to its original file.
    let twenty: Vec<usize> = (1..=20).collect();
    let (count, frames) = symbolicate(twenty).await;
    assert_eq!(count, 20);
    for (i, frame) in frames.iter().enumerate() {
        assert!(mapped(frame), "frame {i}: {frame:?}");
        assert_eq!(
            frame.abs_path.as_deref(),
            Some(format!("src/f{}.js", i + 1).as_str())
        );
        assert_eq!((frame.lineno, frame.colno), (Some(10), Some(5)));
    }

    // The bound counts files, not frames: 25 frames in 20 files are all mapped.
    let repeated: Vec<usize> = (1..=20).chain(1..=5).collect();
    let (count, frames) = symbolicate(repeated).await;
    assert_eq!(count, 25);
    assert!(frames.iter().all(mapped), "{frames:?}");

    // 21 and 25 distinct files: the files after the 20th are not looked up, their frames stay
    // as sent.
    for files in [21, 25] {
        let (count, frames) = symbolicate((1..=files).collect()).await;
        assert_eq!(count, 20, "{files} files");
        assert!(frames[..20].iter().all(mapped), "{frames:?}");
        for (i, frame) in frames.iter().enumerate().skip(20) {
            assert!(!mapped(frame), "frame {i} of {files}: {frame:?}");
            assert_eq!(frame.abs_path.as_deref(), Some(url(i + 1).as_str()));
            assert_eq!((frame.lineno, frame.colno), (Some(1), Some(1)));
        }
    }
}
