//! The application's remote methods: one enum of typed parameters, each variant bound to its
//! handler and its result type by [`methods!`](crate::methods), so a method without a handler, or
//! a handler that answers another type, does not compile; the browser client's `rpc.{method}`
//! signatures are generated from the same declaration.

use schemars::{Schema, SchemaGenerator};
use serde::Serialize;
use serde::de::DeserializeOwned;
use userdo::rpc::NoMethods;
use userdo::{Error, Result};

use super::AppCtx;

/// The remote methods of application `A` (`POST /api/rpc` and WebSocket frames). Write it with
/// [`methods!`](crate::methods); [`NoMethods`] is an application with none.
// The futures run inside one Durable Object, which is single-threaded: no `Send` bound is wanted.
#[allow(async_fn_in_trait)]
pub trait Methods<A>: DeserializeOwned + 'static {
    /// Runs this call on `app` and answers its result as JSON.
    async fn run(self, app: &A, ctx: &AppCtx<'_>) -> Result<serde_json::Value>;

    /// Every method's name, parameters and result, for the generated client.
    fn describe(generator: &mut SchemaGenerator) -> Vec<MethodSchema>;
}

/// One method, as the generated client sees it.
#[derive(Debug, Clone)]
pub struct MethodSchema {
    /// Its name on the wire (`renameTodo`).
    pub name: String,
    /// Its documentation.
    pub doc: String,
    /// The schema of its parameters (`null` for none).
    pub params: Schema,
    /// The schema of its result.
    pub result: Schema,
}

impl<A> Methods<A> for NoMethods {
    async fn run(self, _app: &A, _ctx: &AppCtx<'_>) -> Result<serde_json::Value> {
        match self {}
    }

    fn describe(_generator: &mut SchemaGenerator) -> Vec<MethodSchema> {
        Vec::new()
    }
}

/// A method's result as the JSON of `{result}`.
pub fn to_result<T: Serialize>(result: &T) -> Result<serde_json::Value> {
    serde_json::to_value(result).map_err(|e| Error::internal_from("method result", e))
}

/// serde's `rename_all = "camelCase"` of a variant name: `RenameTodo` -> `renameTodo`.
pub fn camel_case(variant: &str) -> String {
    let mut chars = variant.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// Declares an application's remote methods: the enum of their typed parameters, and for each
/// its result type and the application's handler, `async fn handler(&self, ctx: &AppCtx<'_>,
/// params: Params) -> Result<Output>`. The crate needs `serde` and `schemars` as dependencies
/// (the enum derives their traits).
///
/// ```ignore
/// worker_factory::methods! {
///     /// The application's remote methods.
///     pub enum Call for MyApp {
///         /// Renames a note; answers the note.
///         RenameNote(RenameNote) -> Stored<Note> => rename_note,
///         /// Deletes every note; answers how many.
///         ClearNotes(ClearNotes) -> Cleared => clear_notes,
///     }
/// }
/// ```
///
/// On the wire a call is `{method: "renameNote", params: {...}}`; a parameter struct with no
/// fields is a unit struct (`pub struct ClearNotes;`), called without `params`.
#[macro_export]
macro_rules! methods {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident for $app:ty {
            $(
                $(#[doc = $doc:literal])*
                $variant:ident($params:ty) -> $result:ty => $handler:ident
            ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(::std::fmt::Debug, ::serde::Deserialize, ::schemars::JsonSchema)]
        #[serde(tag = "method", content = "params", rename_all = "camelCase")]
        $vis enum $name {
            $( $(#[doc = $doc])* $variant($params), )*
        }

        impl $crate::app::Methods<$app> for $name {
            async fn run(
                self,
                app: &$app,
                ctx: &$crate::app::AppCtx<'_>,
            ) -> $crate::__private::userdo::Result<$crate::__private::serde_json::Value> {
                match self {
                    $($name::$variant(params) => {
                        let result: $result = app.$handler(ctx, params).await?;
                        $crate::app::to_result(&result)
                    })*
                }
            }

            fn describe(
                generator: &mut ::schemars::SchemaGenerator,
            ) -> ::std::vec::Vec<$crate::app::MethodSchema> {
                ::std::vec![$(
                    $crate::app::MethodSchema {
                        name: $crate::app::camel_case(::core::stringify!($variant)),
                        doc: ::core::concat!($($doc, "\n",)*).trim().to_owned(),
                        params: generator.subschema_for::<$params>(),
                        result: generator.subschema_for::<$result>(),
                    },
                )*]
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::camel_case;

    #[test]
    fn method_names_are_serdes_camel_case() {
        assert_eq!(camel_case("RenameTodo"), "renameTodo");
        assert_eq!(camel_case("X"), "x");
    }
}
