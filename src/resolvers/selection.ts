import { Kind, type GraphQLResolveInfo, type SelectionSetNode } from "graphql";

/**
 * The fields a query selects on the nodes of the connection being resolved (`nodes { … }`
 * and `edges { node { … } }`), by field name, fragments and inline fragments included.
 * A field under @include/@skip counts as selected: the set may be larger than what is
 * answered, never smaller.
 */
export function connectionNodeFields(info: GraphQLResolveInfo): Set<string> {
  const fields = new Set<string>();
  for (const node of info.fieldNodes) {
    forEachField(info, node.selectionSet, (name, selections) => {
      if (name === "nodes") collect(info, selections, fields);
      if (name === "edges") {
        forEachField(info, selections, (edgeField, nodeSelections) => {
          if (edgeField === "node") collect(info, nodeSelections, fields);
        });
      }
    });
  }
  return fields;
}

function collect(info: GraphQLResolveInfo, set: SelectionSetNode | undefined, into: Set<string>): void {
  forEachField(info, set, (name) => into.add(name));
}

/** Calls `visit` for every field of a selection set, looking through fragments. */
function forEachField(
  info: GraphQLResolveInfo,
  set: SelectionSetNode | undefined,
  visit: (name: string, selections: SelectionSetNode | undefined) => void,
  seen: Set<string> = new Set(),
): void {
  for (const selection of set?.selections ?? []) {
    switch (selection.kind) {
      case Kind.FIELD:
        visit(selection.name.value, selection.selectionSet);
        break;
      case Kind.INLINE_FRAGMENT:
        forEachField(info, selection.selectionSet, visit, seen);
        break;
      case Kind.FRAGMENT_SPREAD: {
        const name = selection.name.value;
        if (seen.has(name)) break;
        seen.add(name);
        forEachField(info, info.fragments[name]?.selectionSet, visit, seen);
        break;
      }
    }
  }
}
