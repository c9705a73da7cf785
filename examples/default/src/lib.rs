//! The default worker: every userdo endpoint under the binding `USERDO`, built only through the
//! public seam an application uses (`UserApp`, `user_object!`, `UserDoWorker`).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::json;
use validator::Validate;
use worker::{Context, Env, Method, Request, Response, event, web_sys};
use worker_factory::prelude::*; // UserApp, AppCtx, Vars, methods!, user_object!, Tables, Stored, ...

/// A todo: the default worker's table, open to the signed-in user at `/api/tables/todos`.
#[derive(Debug, Clone, Serialize, Deserialize, Validate, JsonSchema)]
pub struct Todo {
    /// What to do, 1 to 200 characters.
    #[validate(length(min = 1, max = 200, message = "must be 1 to 200 characters"))]
    pub title: String,
    /// Whether it is done.
    #[serde(default)]
    pub done: bool,
}

impl TableRow for Todo {
    const NAME: &'static str = "todos";

    fn indexes() -> Vec<Index> {
        // The list a todo app shows: open ones first, newest first.
        vec![Index::on(&["done", "createdAt"])]
    }
}

/// A visit, written by the application (`POST /api/visits`) and readable, not writable, by the
/// user at `/api/tables/visits`.
#[derive(Debug, Clone, Serialize, Deserialize, Validate, JsonSchema)]
pub struct Visit {
    /// The path visited.
    #[validate(length(max = 200))]
    pub path: String,
}

impl TableRow for Visit {
    const NAME: &'static str = "visits";
}

/// `clearCompleted` takes no parameters.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct ClearCompleted;

/// What `clearCompleted` answers.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Cleared {
    /// How many rows were deleted (todos, or an organization's notes).
    pub deleted: usize,
}

/// The parameters of `renameTodo`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RenameTodo {
    /// The todo's id.
    pub id: String,
    /// Its new title.
    pub title: String,
}

/// The parameters of `remindLater`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RemindLater {
    /// The title of the todo to add.
    pub title: String,
    /// When, in milliseconds from now (0 to 30 days).
    pub after_ms: i64,
}

/// What `remindLater` answers.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Scheduled {
    /// The task's id.
    pub id: String,
    /// When it is due, in milliseconds since the Unix epoch.
    pub due_at: i64,
}

/// The default application's scheduled work, run in the user's object from its alarm.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "task", rename_all = "camelCase")]
pub enum Task {
    /// Adds a todo (scheduled by `remindLater`).
    AddTodo {
        /// Its title.
        title: String,
    },
}

/// The data of the `app:reminder` event: a reminder added this todo.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Reminder {
    /// The todo it added.
    pub todo_id: String,
}

const MAX_REMIND_MS: i64 = 30 * 24 * 3600 * 1000;

methods! {
    /// The default application's remote methods (`POST /api/rpc`, or a WebSocket frame). The
    /// browser client's `rpc.clearCompleted()` and `rpc.renameTodo({id, title})` are generated
    /// from this declaration.
    pub enum Call for DefaultApp {
        /// Deletes every done todo; answers how many.
        ClearCompleted(ClearCompleted) -> Cleared => clear_completed,
        /// Renames a todo (validated like any update); answers the row.
        RenameTodo(RenameTodo) -> Stored<Todo> => rename_todo,
        /// Adds a todo later: after `afterMs`, even if every socket is closed and the object
        /// slept; answers the scheduled task.
        RemindLater(RemindLater) -> Scheduled => remind_later,
    }
}

/// The default application: a `todos` table the user reads and writes, and a `visits` table
/// that only the application writes (from its object route), which the user may read.
#[derive(Debug)]
pub struct DefaultApp;

impl DefaultApp {
    async fn clear_completed(&self, ctx: &AppCtx<'_>, _: ClearCompleted) -> Result<Cleared> {
        let todos = ctx.table::<Todo>()?;
        let done = todos
            .query()
            .where_("done", Op::Eq, true)
            .limit(1000)
            .get()?;
        for todo in &done {
            todos.delete(&todo.id)?;
        }
        Ok(Cleared {
            deleted: done.len(),
        })
    }

    async fn rename_todo(&self, ctx: &AppCtx<'_>, p: RenameTodo) -> Result<Stored<Todo>> {
        ctx.table::<Todo>()?
            .update(&p.id, json!({ "title": p.title }))
    }

    async fn remind_later(&self, ctx: &AppCtx<'_>, p: RemindLater) -> Result<Scheduled> {
        // Checked now, so the task cannot fail later for its input; every bad field at once.
        let todo = Todo {
            title: p.title,
            done: false,
        };
        let mut errors = match todo.validate().map_err(Error::from) {
            Err(Error::Validation(fields)) => fields,
            _ => Default::default(),
        };
        if !(0..=MAX_REMIND_MS).contains(&p.after_ms) {
            errors.insert("afterMs".into(), vec!["must be 0 to 30 days in ms".into()]);
        }
        if !errors.is_empty() {
            return Err(Error::Validation(errors));
        }
        let task = Task::AddTodo { title: todo.title };
        let id = ctx.schedule(When::After(p.after_ms), &task)?;
        Ok(Scheduled {
            id,
            due_at: ctx.now_ms() + p.after_ms,
        })
    }
}

impl UserApp for DefaultApp {
    type Call = Call;
    type Task = Task; // scheduled work, run by `run_task`; `NoTasks` for none

    // Built in each user's object; `vars.get("NAME")` reads [vars] and secrets.
    fn new(_vars: &Vars) -> Self {
        DefaultApp
    }

    fn tables(&self) -> Tables {
        Tables::new()
            .table::<Todo>(Access::ReadWrite)
            .table::<Visit>(Access::ReadOnly)
    }

    async fn run_task(&self, ctx: &AppCtx<'_>, task: Task) -> Result<()> {
        match task {
            Task::AddTodo { title } => {
                let todo = Todo { title, done: false };
                let added = ctx.table::<Todo>()?.create(&todo)?;
                // The application's own event, after the row's: the page can say why it appeared.
                ctx.publish("reminder", &Reminder { todo_id: added.id })?;
                Ok(())
            }
        }
    }

    // The worker's `object_route`s, with the client's method and path.
    async fn fetch(&self, ctx: &AppCtx<'_>, req: Request) -> Result<Response> {
        match (req.method(), req.path().as_str()) {
            (Method::Post, "/api/visits") => {
                let visits = ctx.table::<Visit>()?;
                visits.create(&Visit {
                    path: "/api/visits".into(),
                })?;
                respond(200, &json!({ "visits": visits.query().count()? }))
            }
            _ => Err(Error::NotFound("no such endpoint".into())),
        }
    }
}

/// A note: the default worker's organization table, at `/api/orgs/{org}/tables/notes`.
#[derive(Debug, Clone, Serialize, Deserialize, Validate, JsonSchema)]
pub struct Note {
    /// 1 to 200 characters.
    #[validate(length(min = 1, max = 200, message = "must be 1 to 200 characters"))]
    pub title: String,
    /// At most 10,000 characters.
    #[serde(default)]
    #[validate(length(max = 10000, message = "must be at most 10000 characters"))]
    pub body: String,
}

impl TableRow for Note {
    const NAME: &'static str = "notes";
}

/// `noteStats` takes no parameters.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct NoteStats;

/// What `noteStats` answers.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Stats {
    /// How many notes the organization has.
    pub notes: i64,
    /// The caller's role.
    pub role: Role,
}

/// `clearNotes` takes no parameters.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct ClearNotes;

methods! {
    /// The organizations' methods (`POST /api/orgs/{org}/rpc`): they run in the organization's
    /// object and see the calling member.
    pub enum TeamCall for Teams {
        /// Counts the notes; answers with the caller's role (any member).
        NoteStats(NoteStats) -> Stats => note_stats,
        /// Deletes every note (admins); answers how many.
        ClearNotes(ClearNotes) -> Cleared => clear_notes,
    }
}

/// The default worker's organizations: shared notes that members read and write, and admins
/// delete.
#[derive(Debug)]
pub struct Teams;

impl Teams {
    async fn note_stats(&self, ctx: &AppCtx<'_>, _: NoteStats) -> Result<Stats> {
        let member = ctx.require_role(Role::Member)?;
        let notes = ctx.table::<Note>()?.query().count()?;
        Ok(Stats {
            notes,
            role: member.role,
        })
    }

    async fn clear_notes(&self, ctx: &AppCtx<'_>, _: ClearNotes) -> Result<Cleared> {
        ctx.require_role(Role::Admin)?;
        let notes = ctx.table::<Note>()?;
        let all = notes.query().limit(1000).get()?;
        for note in &all {
            notes.delete(&note.id)?;
        }
        Ok(Cleared { deleted: all.len() })
    }
}

impl OrgApp for Teams {
    type Call = TeamCall;

    fn new(_vars: &Vars) -> Self {
        Teams
    }

    fn tables(&self) -> Tables {
        Tables::new().table::<Note>(Access::Roles {
            read: Role::Member,
            write: Role::Member,
            delete: Role::Admin,
        })
    }
}

user_object!(UserObject, DefaultApp);
org_object!(OrgObject, Teams); // one Durable Object per organization, bound as ORGS
limiter_object!(RateLimiter); // exact rate-limit counters

// The runtime's own request and response (`web_sys`): `serve` reads what it needs of the request
// once, and a user's object's answer goes back as the runtime hands it over.
#[event(fetch)]
async fn fetch(
    req: web_sys::Request,
    env: Env,
    _ctx: Context,
) -> worker::Result<web_sys::Response> {
    UserDoWorker::new("USERDO") // the Durable Object binding name of your wrangler.toml
        // Answered in the worker, for a live session (confirmed in the user's object first).
        .route(Method::Get, "/api/hello", |_req, auth| async move {
            respond(200, &json!({ "hello": auth.user.email }))
        })
        // A worker route with a path parameter, for a live session.
        .route(
            Method::Get,
            "/api/hello/{greeting}",
            |_req, auth| async move {
                let greeting = auth.params.get("greeting").unwrap_or_default();
                respond(
                    200,
                    &json!({ greeting: auth.user.email, "session": auth.claims().sid }),
                )
            },
        )
        // A public route: no session is asked for.
        .public_route(
            Method::Get,
            "/api/greet/{name}",
            |_req, params| async move {
                let name = params.get("name").unwrap_or_default();
                respond(200, &json!({ "greeting": format!("hello, {name}") }))
            },
        )
        // Answered in the user's object by `DefaultApp::fetch`: one trip, the session checked there.
        .object_route(Method::Post, "/api/visits")
        .serve(req, env)
        .await
}

#[cfg(test)]
mod tests;
