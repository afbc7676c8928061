//! [`ResolveRules`]: what the generic stages ask of a language. Its own module, apart
//! from the implementations in `lang/`, so that the file context (`context.rs`) can
//! take a language's rules without importing the module that imports it.

/// Language-specific decisions of the generic stages. The defaults are those of a
/// language with none of the feature in question.
pub(super) trait ResolveRules: Sync {
    /// Languages that import each other's modules share a number, and only definitions
    /// of the same number are candidates for a name.
    fn ecosystem(&self) -> u8;

    /// `self`, `this`, `cls`: the receiver that is the enclosing type's instance.
    fn is_self_like(&self, head: &str) -> bool;

    /// A qualifier naming the enclosing type itself (Rust `Self::f`).
    fn is_self_type(&self, _qualifier: &str) -> bool {
        false
    }

    /// Types the language itself provides, which no project definition can be the
    /// target of a declaration naming them.
    fn is_builtin_type(&self, _name: &str) -> bool {
        false
    }

    /// Builtin functions and classes: a bare call of one of these names that no scope
    /// or import binds is the builtin, never a project definition of that name.
    fn is_builtin_function(&self, _name: &str) -> bool {
        false
    }

    /// Whether a bare `super()` only finds the bases (Python) rather than calling a
    /// base's constructor (Java, JavaScript).
    fn super_is_proxy(&self) -> bool {
        false
    }

    /// Whether a type's members are in scope inside it without `this.` (Java, C++).
    fn members_in_scope(&self) -> bool {
        false
    }

    /// Whether an import without a qualifier brings a whole file into scope (C++
    /// `#include`).
    fn bare_import_is_wildcard(&self) -> bool {
        false
    }

    /// Whether only the last of several definitions of one name in one scope counts:
    /// Python's `@overload` stubs and redefinitions, TypeScript's overload signatures.
    fn keeps_last_definition(&self) -> bool {
        false
    }

    /// The files that may hold submodule `name` of the module in file `module_path`, in
    /// the order they are tried.
    fn submodule_paths(&self, _module_path: &str, _name: &str) -> Vec<String> {
        Vec::new()
    }

    /// Whether a bare name (`f()`, not `x.f()`) can name a method. Not in Go, where a
    /// method is reached only through a value of its receiver type, even inside
    /// another method of that type.
    fn bare_names_find_methods(&self) -> bool {
        true
    }

    /// Whether a module declared in a file may have its body in a file of its own (Rust
    /// `mod x;`).
    fn modules_in_files(&self) -> bool {
        false
    }

    /// The names of a type's constructors, given the type's name; none where
    /// constructors are ordinary functions (Rust, Go).
    fn constructor_names<'a>(&self, _type_name: &'a str) -> Vec<&'a str> {
        Vec::new()
    }

    /// Whether a type's methods may be defined in another module than the type, under
    /// that module's path (a Rust `impl Type` anywhere in the crate).
    fn impls_in_other_modules(&self) -> bool {
        false
    }

    /// A qualifier that names the global scope (C++ `::f()`).
    fn global_qualifier(&self) -> Option<&'static str> {
        None
    }

    /// Whether an enum member can be called (Rust's tuple variants: `Op::Add(x)`).
    fn calls_enum_members(&self) -> bool {
        false
    }

    /// Whether a type alias names a type with members of its own (a Go defined type,
    /// `type lazyFlag uint64`), rather than standing for another type.
    fn aliases_name_types(&self) -> bool {
        false
    }

    /// Whether a type parameter's trait bounds (`<R: Read>`, `where R: Read`) are
    /// recorded as type references bound under the parameter's name, so that a value of
    /// type `R` has the bounds' methods.
    fn type_parameters_have_bounds(&self) -> bool {
        false
    }

    /// Whether a function's parameters and local variables hide functions and types of
    /// the same name outside it (one namespace for values and functions). Not in Java,
    /// where `registry()` calls the method even beside a variable `registry`.
    fn locals_hide_functions(&self) -> bool {
        true
    }

    /// Whether a binding hides an earlier one of the same name for the code after it,
    /// within one function (Rust's `let x = x.f();` and match arms), rather than the
    /// bindings of a name adding up (a Python variable assigned in two branches).
    fn later_bindings_hide(&self) -> bool {
        false
    }

    /// Whether declared types may hold other types that patterns, loops and unwrapping
    /// reach, bound as `name?` (Rust's `Option<T>`, `Vec<T>`).
    fn has_holders(&self) -> bool {
        false
    }

    /// Whether a method of the language's standard library gives back what its receiver
    /// holds (Rust's `x.unwrap()`, `x.expect(..)` on an `Option` or a `Result`).
    fn unwraps(&self, _method: &str) -> bool {
        false
    }

    /// The method that makes a value iterable, whose declared result holds what a loop
    /// over a value of a project type gets (Python `__iter__`).
    fn iteration_method(&self) -> Option<&'static str> {
        None
    }

    /// The method that indexes a value, whose declared result is what `x[i]` on a value
    /// of a project type gets (Python `__getitem__`).
    fn index_method(&self) -> Option<&'static str> {
        None
    }

    /// Whether a method read off a value stays bound to it (`append = text.append`),
    /// so that calling the variable calls the method (Python).
    fn binds_methods(&self) -> bool {
        false
    }

    /// Whether a binding may hold only inside a block it guards, where it hides the
    /// name's other bindings, bound as `name!` over the block: Python's `if
    /// isinstance(x, T):` and `for x in xs:` bodies, a Rust closure's parameters.
    fn narrows(&self) -> bool {
        false
    }

    /// Whether a method of the language's standard library gives back the receiver's
    /// own type when the receiver's type does not define it (Rust `x.as_mut()`,
    /// `x.clone()` on a `Pin` or a `#[derive(Clone)]` type).
    fn passes_through(&self, _method: &str) -> bool {
        false
    }

    /// Whether the standard library's method `method`, when the receiver's type does
    /// not define it, passes what the receiver holds to the closure given as its
    /// argument `argument`, as that closure's parameter `parameter`: Rust's iterator
    /// adaptors and `Option`'s combinators (`v.iter().map(|x| ..)`, `fold(0, |acc, x|
    /// ..)`: (0, 0) and (1, 1)).
    fn closure_gets_item(&self, _method: &str, _argument: usize, _parameter: usize) -> bool {
        false
    }

    /// Whether a call chooses among overloads of one name by the number of arguments it
    /// passes (Java, C++), where the syntax alone cannot weigh the argument types.
    fn overloads_by_arity(&self) -> bool {
        false
    }
}
