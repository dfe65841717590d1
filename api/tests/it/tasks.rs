//! The task board: tasks made from error issues (one per issue) or on their own, placed and
//! reordered within and between columns (the order persists), custom columns, filters, overdue
//! flags; Done and the issue's resolution follow each other both ways; assignment, due-soon
//! reminders and issue state changes notify the members concerned.

use serde_json::{Value, json};
use tenant::tables::memberships::Role;

use crate::notifications::issue;
use crate::support::{As, SmtpServer, TestApp, Workers, assert_problem, job_context};

/// Waits until a periodic job whose idempotency key starts with `prefix` has run.
async fn periodic_job_done(app: &TestApp, prefix: &str) {
    use tenant::diesel::sql_types::BigInt;
    use tenant::diesel_async::RunQueryDsl;
    #[derive(tenant::diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    let mut conn = app.owner_conn().await;
    for _ in 0..1200 {
        let done: Count = tenant::diesel::sql_query(
            "SELECT count(*) AS n FROM apalis.jobs \
             WHERE idempotency_key LIKE $1 || '%' AND status = 'Done'",
        )
        .bind::<tenant::diesel::sql_types::Text, _>(prefix)
        .get_result(&mut conn)
        .await
        .unwrap();
        if done.n > 0 {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the periodic job {prefix}… did not run within a minute");
}

/// The titles in each column of the board, in order.
fn columns_of(board: &Value) -> Vec<(String, Vec<String>)> {
    board["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let titles = c["tasks"].as_array().unwrap().iter();
            (
                c["name"].as_str().unwrap().to_owned(),
                titles
                    .map(|t| t["title"].as_str().unwrap().to_owned())
                    .collect(),
            )
        })
        .collect()
}

fn column_id(board: &Value, name: &str) -> String {
    board["columns"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn tasks_move_between_columns_and_follow_their_issue() {
    let app = TestApp::new().await;
    let owner_session = app.user("owner@tasks.test").await;
    let org = app.org(&owner_session, "Tasks").await;
    let owner = As::User(owner_session.clone());
    let ann_session = app.user("ann@tasks.test").await;
    app.add_member(org, &ann_session, Role::Member).await;
    let ann = As::User(ann_session.clone());
    let viewer_session = app.user("viewer@tasks.test").await;
    app.add_member(org, &viewer_session, Role::Viewer).await;
    let viewer = As::User(viewer_session);
    let outsider = app.user("outsider@tasks.test").await;
    let project = app.project(&owner, org, "tasks.example").await;
    let p = project["id"].as_str().unwrap();
    let base = format!("/api/v1/orgs/{org}/projects/{p}");
    let issue_id = issue(&app, &owner, &project, "cart total is NaN").await;
    let board_url = format!("{base}/task-board");

    // A new board has its three columns.
    let (status, board) = app.json(&viewer, "GET", &board_url, None).await;
    assert_eq!(status, 200, "{board}");
    assert_eq!(
        columns_of(&board),
        [
            ("To do".into(), vec![]),
            ("In progress".into(), vec![]),
            ("Done".into(), vec![])
        ]
    );
    // A task from the issue, assigned to Ann: she is told, the owner (who did it) is not.
    let (status, task) = app
        .json(&owner, "POST", &format!("{base}/tasks"), Some(json!({
            "title": "Fix NaN totals", "issue_id": issue_id, "assignee_id": ann_session.user_id,
            "labels": ["checkout", " checkout ", "bug"], "priority": "high", "due_on": "2020-01-01"})))
        .await;
    assert_eq!(status, 201, "{task}");
    assert_eq!(task["labels"], json!(["checkout", "bug"]));
    assert_eq!(task["assignee_email"], "ann@tasks.test");
    assert_eq!(task["overdue"], true);
    let task_id = task["id"].as_str().unwrap().to_owned();
    let (_, inbox) = app
        .json(
            &ann,
            "GET",
            &format!("/api/v1/orgs/{org}/notifications"),
            None,
        )
        .await;
    assert_eq!(inbox[0]["kind"], "assignment", "{inbox}");
    assert_eq!(inbox[0]["summary"], "Fix NaN totals");
    assert_eq!(inbox[0]["target_id"], task_id.as_str());
    let (_, none) = app
        .json(
            &owner,
            "GET",
            &format!("/api/v1/orgs/{org}/notifications/unread"),
            None,
        )
        .await;
    assert_eq!(none["unread"], 0);
    // One task per issue; a viewer, an outsider and a non-member assignee are refused.
    let resp = app
        .call(
            &owner,
            "POST",
            &format!("{base}/tasks"),
            Some(json!({"title": "Again", "issue_id": issue_id})),
        )
        .await;
    assert_problem(resp, 409, "task_exists").await;
    let resp = app
        .call(
            &viewer,
            "POST",
            &format!("{base}/tasks"),
            Some(json!({"title": "No"})),
        )
        .await;
    assert_problem(resp, 403, "forbidden").await;
    let resp = app
        .call(
            &owner,
            "POST",
            &format!("{base}/tasks"),
            Some(json!({"title": "No", "assignee_id": outsider.user_id})),
        )
        .await;
    assert_problem(resp, 422, "invalid_value").await;
    let resp = app
        .call(
            &owner,
            "POST",
            &format!("{base}/tasks"),
            Some(json!({"title": "  "})),
        )
        .await;
    assert_problem(resp, 422, "invalid_value").await;

    // Order within a column persists.
    for title in ["Second", "Third"] {
        let (status, _) = app
            .json(
                &ann,
                "POST",
                &format!("{base}/tasks"),
                Some(json!({"title": title, "labels": ["ops"]})),
            )
            .await;
        assert_eq!(status, 201);
    }
    let (_, board) = app.json(&owner, "GET", &board_url, None).await;
    let third = board["columns"][0]["tasks"][2]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let todo = column_id(&board, "To do");
    let done = column_id(&board, "Done");
    let (status, _) = app
        .json(
            &owner,
            "PUT",
            &format!("{base}/tasks/{third}/place"),
            Some(json!({"column_id": todo, "before_task_id": task_id})),
        )
        .await;
    assert_eq!(status, 200);
    let (_, board) = app.json(&owner, "GET", &board_url, None).await;
    assert_eq!(
        columns_of(&board)[0].1,
        ["Third", "Fix NaN totals", "Second"]
    );

    // A neighbour that is not in the column is refused, and nothing moves.
    let resp = app
        .call(
            &owner,
            "PUT",
            &format!("{base}/tasks/{third}/place"),
            Some(json!({"column_id": done, "before_task_id": task_id})),
        )
        .await;
    assert_problem(resp, 422, "invalid_value").await;
    // Dropping the issue's task in Done resolves the issue, and it is no longer overdue.
    let (status, placed) = app
        .json(
            &ann,
            "PUT",
            &format!("{base}/tasks/{task_id}/place"),
            Some(json!({"column_id": done})),
        )
        .await;
    assert_eq!(status, 200, "{placed}");
    assert_eq!(placed["overdue"], false);
    let (_, detail) = app
        .json(&owner, "GET", &format!("{base}/issues/{issue_id}"), None)
        .await;
    assert_eq!(detail["issue"]["status"], "resolved", "{detail}");
    // Reopening the issue takes the task back to To do (last); resolving it, to Done.
    let (status, _) = app
        .json(
            &owner,
            "PATCH",
            &format!("{base}/issues/{issue_id}"),
            Some(json!({"status": "unresolved"})),
        )
        .await;
    assert_eq!(status, 200);
    let (_, board) = app.json(&owner, "GET", &board_url, None).await;
    assert_eq!(
        columns_of(&board)[0].1,
        ["Third", "Second", "Fix NaN totals"]
    );
    app.json(
        &owner,
        "PATCH",
        &format!("{base}/issues/{issue_id}"),
        Some(json!({"status": "resolved"})),
    )
    .await;
    let (_, board) = app.json(&owner, "GET", &board_url, None).await;
    assert_eq!(columns_of(&board)[2].1, ["Fix NaN totals"]);
    // Ann follows the issue (its task is hers): she was told of both changes.
    let (_, inbox) = app
        .json(
            &ann,
            "GET",
            &format!("/api/v1/orgs/{org}/notifications"),
            None,
        )
        .await;
    let kinds: Vec<&str> = inbox
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        ["issue_state", "issue_state", "assignment"],
        "{inbox}"
    );
    // Taking the task out of Done reopens the issue.
    app.json(
        &owner,
        "PUT",
        &format!("{base}/tasks/{task_id}/place"),
        Some(json!({"column_id": todo, "before_task_id": null})),
    )
    .await;
    let (_, detail) = app
        .json(&owner, "GET", &format!("{base}/issues/{issue_id}"), None)
        .await;
    assert_eq!(detail["issue"]["status"], "unresolved");

    // The activity feed shows the assignment, naming the task and its assignee.
    let (_, feed) = app
        .json(&viewer, "GET", &format!("{base}/activity"), None)
        .await;
    let assignments: Vec<&Value> = feed
        .as_array()
        .unwrap()
        .iter()
        .filter(|item| item["kind"] == "assignment")
        .collect();
    assert_eq!(assignments.len(), 1, "{feed}");
    assert_eq!(assignments[0]["summary"], "Fix NaN totals → ann@tasks.test");
    assert_eq!(assignments[0]["target_kind"], "task");
    assert_eq!(assignments[0]["actor_email"], "owner@tasks.test");
    // Filters.
    let (_, only_ops) = app
        .json(&owner, "GET", &format!("{board_url}?label=ops"), None)
        .await;
    assert_eq!(columns_of(&only_ops)[0].1, ["Third", "Second"]);
    let (_, anns) = app
        .json(
            &owner,
            "GET",
            &format!("{board_url}?assignee_id={}", ann_session.user_id),
            None,
        )
        .await;
    assert_eq!(columns_of(&anns)[0].1, ["Fix NaN totals"]);
    assert_eq!(board["labels"], json!(["bug", "checkout", "ops"]));

    // A custom column sits before Done; deleting it moves its tasks to To do; the built-in
    // columns stay.
    let (status, review) = app
        .json(
            &owner,
            "POST",
            &format!("{base}/task-columns"),
            Some(json!({"name": "Review"})),
        )
        .await;
    assert_eq!(status, 201, "{review}");
    let review = review["id"].as_str().unwrap().to_owned();
    app.json(
        &owner,
        "PUT",
        &format!("{base}/tasks/{third}/place"),
        Some(json!({"column_id": review})),
    )
    .await;
    let (_, board) = app.json(&owner, "GET", &board_url, None).await;
    let names: Vec<String> = columns_of(&board).into_iter().map(|c| c.0).collect();
    assert_eq!(names, ["To do", "In progress", "Review", "Done"]);
    let (status, _) = app
        .json(
            &owner,
            "DELETE",
            &format!("{base}/task-columns/{review}"),
            None,
        )
        .await;
    assert_eq!(status, 204);
    let (_, board) = app.json(&owner, "GET", &board_url, None).await;
    assert_eq!(
        columns_of(&board)[0].1,
        ["Second", "Fix NaN totals", "Third"]
    );
    let resp = app
        .call(
            &owner,
            "DELETE",
            &format!("{base}/task-columns/{todo}"),
            None,
        )
        .await;
    assert_problem(resp, 409, "conflict").await;

    // Another project's board cannot be reached through this one's ids.
    let other = app.project(&owner, org, "other-tasks.example").await;
    let o = other["id"].as_str().unwrap();
    let (_, other_board) = app
        .json(
            &owner,
            "GET",
            &format!("/api/v1/orgs/{org}/projects/{o}/task-board"),
            None,
        )
        .await;
    let other_todo = column_id(&other_board, "To do");
    let resp = app
        .call(
            &owner,
            "PUT",
            &format!("{base}/tasks/{third}/place"),
            Some(json!({"column_id": other_todo})),
        )
        .await;
    assert_problem(resp, 404, "not_found").await;
    let resp = app
        .call(
            &owner,
            "PATCH",
            &format!("/api/v1/orgs/{org}/projects/{o}/tasks/{third}"),
            Some(json!({"title": "x"})),
        )
        .await;
    assert_problem(resp, 404, "not_found").await;
}

#[tokio::test]
async fn due_tasks_remind_their_assignee_once_per_date() {
    let app = TestApp::new().await;
    let owner_session = app.user("owner@due.test").await;
    let org = app.org(&owner_session, "Due").await;
    let owner_id = owner_session.user_id;
    let owner = As::User(owner_session);
    let ann_session = app.user("ann@due.test").await;
    app.add_member(org, &ann_session, Role::Member).await;
    let ann = As::User(ann_session.clone());
    let project = app.project(&owner, org, "due.example").await;
    let p = project["id"].as_str().unwrap();
    let base = format!("/api/v1/orgs/{org}/projects/{p}");
    app.set_now("2026-11-20T12:00:00Z".parse().unwrap());
    let task = |title: &str, due: &str| json!({"title": title, "assignee_id": ann_session.user_id, "due_on": due});
    let (_, soon) = app
        .json(
            &owner,
            "POST",
            &format!("{base}/tasks"),
            Some(task("Renew cert", "2026-11-21")),
        )
        .await;
    app.json(
        &owner,
        "POST",
        &format!("{base}/tasks"),
        Some(task("Later", "2026-11-30")),
    )
    .await;
    let ctx = job_context(&app, None);
    let remind =
        || worker::jobs::Job::RemindDueTasksAllTenants(worker::jobs::RemindDueTasksAllTenants {});
    let due_soon = |inbox: &Value| -> Vec<String> {
        inbox
            .as_array()
            .unwrap()
            .iter()
            .filter(|n| n["kind"] == "due_soon")
            .map(|n| n["summary"].as_str().unwrap().to_owned())
            .collect()
    };
    remind().run(&ctx).await.unwrap();
    let (_, inbox) = app
        .json(
            &ann,
            "GET",
            &format!("/api/v1/orgs/{org}/notifications"),
            None,
        )
        .await;
    assert_eq!(
        due_soon(&inbox),
        ["“Renew cert” is due tomorrow"],
        "{inbox}"
    );
    // Once per date: the next run says nothing more; a new date is reminded again.
    remind().run(&ctx).await.unwrap();
    let (_, inbox) = app
        .json(
            &ann,
            "GET",
            &format!("/api/v1/orgs/{org}/notifications"),
            None,
        )
        .await;
    assert_eq!(due_soon(&inbox).len(), 1);
    let id = soon["id"].as_str().unwrap();
    app.json(
        &owner,
        "PATCH",
        &format!("{base}/tasks/{id}"),
        Some(json!({"due_on": "2026-11-20"})),
    )
    .await;
    remind().run(&ctx).await.unwrap();
    let (_, inbox) = app
        .json(
            &ann,
            "GET",
            &format!("/api/v1/orgs/{org}/notifications"),
            None,
        )
        .await;
    assert_eq!(
        due_soon(&inbox),
        ["“Renew cert” is due today", "“Renew cert” is due tomorrow"]
    );
    // A new assignee is reminded too.
    app.json(
        &owner,
        "PATCH",
        &format!("{base}/tasks/{id}"),
        Some(json!({"assignee_id": owner_id})),
    )
    .await;
    remind().run(&ctx).await.unwrap();
    let (_, inbox) = app
        .json(
            &owner,
            "GET",
            &format!("/api/v1/orgs/{org}/notifications"),
            None,
        )
        .await;
    assert_eq!(due_soon(&inbox), ["“Renew cert” is due today"], "{inbox}");
}

#[tokio::test]
async fn mention_inbox_email_and_task_board_in_chromium() {
    let app = TestApp::new().await;
    let smtp = SmtpServer::start();
    let owner_session = app.user("owner@team.test").await;
    let org = app.org(&owner_session, "Team").await;
    let owner = As::User(owner_session);
    let member = app.user("maria@team.test").await;
    app.add_member(org, &member, Role::Member).await;
    let project = app.project(&owner, org, "team.example").await;
    let p = project["id"].as_str().unwrap().to_owned();
    let issue_id = issue(&app, &owner, &project, "Payment button does nothing").await;
    let workers = Workers::start(&app, &smtp);
    // The workers sweep for due tasks as they start; the journey's overdue task must not race
    // that sweep (its reminder is tested in `due_tasks_remind_their_assignee_once_per_date`).
    periodic_job_done(&app, "remind_due_tasks:").await;
    // Time passes quickly here: an e-mail batch is due at once instead of at the end of its
    // five-minute window (what the batch holds is tested in `notifications`).
    let hurry = {
        let url = app.test_db.owner_url.clone();
        tokio::spawn(async move {
            use tenant::diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
            let mut conn = AsyncPgConnection::establish(&url).await.unwrap();
            loop {
                tenant::diesel::sql_query(
                    "UPDATE apalis.jobs SET run_at = now() \
                     WHERE idempotency_key LIKE 'notifications:%' AND status = 'Pending' \
                       AND run_at > now()",
                )
                .execute(&mut conn)
                .await
                .unwrap();
                tokio::time::sleep(std::time::Duration::from_millis(500)).await;
            }
        })
    };
    let port = app.listen().await;
    let maildir = smtp.maildir().to_owned();
    let issue_arg = issue_id.clone();
    let report = tokio::task::spawn_blocking(move || {
        crate::support::run_journey(
            "teamwork.mjs",
            port,
            &maildir,
            &[
                "owner@team.test".into(),
                "maria@team.test".into(),
                crate::support::PASSWORD.into(),
                org.to_string(),
                p,
                issue_arg,
            ],
        )
    })
    .await
    .unwrap();
    hurry.abort();
    workers.stop().await;
    assert_eq!(report["problems"], json!([]), "{report:#}");
    // The autocompletion offered the member; choosing her wrote the whole address.
    assert_eq!(report["suggested"], "@maria@team.test");
    assert_eq!(
        report["commentBox"],
        "Can you look, @maria@team.test please?"
    );
    assert!(
        report["issueTask"]
            .as_str()
            .unwrap()
            .contains("is in To do, assigned to maria@team.test"),
        "{report:#}"
    );
    // Her inbox: the assignment (newest) and the mention, both unread, counted in the top bar.
    assert_eq!(report["badge"], "2 unread");
    let inbox = report["inbox"].as_array().unwrap();
    assert!(
        inbox[0]
            .as_str()
            .unwrap()
            .contains("owner@team.test assigned you a task"),
        "{report:#}"
    );
    assert!(
        inbox[1]
            .as_str()
            .unwrap()
            .contains("owner@team.test mentioned you"),
        "{report:#}"
    );
    assert!(
        inbox[1]
            .as_str()
            .unwrap()
            .contains("Can you look, @maria@team.test please?")
    );
    assert_eq!(report["unreadAfter"], 0);
    // The e-mail links to the issue.
    let mail = report["mail"].as_str().unwrap();
    assert!(mail.contains(&format!("/errors/{issue_id}")), "{mail}");
    // Overdue in To do; in Done after the drag (and a reload), no longer overdue; the issue
    // resolved.
    assert_eq!(report["overdueBefore"], true);
    assert_eq!(
        report["doneAfterReload"],
        json!(["Payment button does nothing"])
    );
    assert_eq!(report["overdueInDone"], false);
    assert_eq!(report["issueStatus"], "resolved");
    for (screen, violations) in report["a11y"].as_object().unwrap() {
        assert_eq!(violations, &json!([]), "axe-core on {screen}");
    }
    assert_eq!(report["a11y"].as_object().unwrap().len(), 6);
}
