// The recipes this page offers: the registry of @distillery/recipes (the one list the CLI runs too), flagship first.
// Each one is browser-safe: no Node APIs, and files only through the context, which the page leaves undefined.
export { recipes } from '@distillery/recipes';
