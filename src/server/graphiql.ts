import { gzipSync } from "node:zlib";
import { renderGraphiQL } from "@graphql-yoga/render-graphiql";

/** The query a newcomer sees first: the seed purchase, from account to order to resource. */
export const WELCOME_QUERY = `# Press ▶ to walk accounts → orders → resources → events
{
  accounts(first: 5) {
    nodes {
      accountId
      orders(first: 5) {
        nodes {
          orderId
          createdAt
          items {
            articleConfig
            resource {
              type
              resourceId
              events(first: 5) {
                nodes { eventName eventTime userIdentity { type userName } }
              }
            }
          }
        }
      }
    }
  }
}
`;

export interface GraphiQLPage {
  html: string;
  gzipped: Buffer;
  etag: string;
}

let page: GraphiQLPage | undefined;

/**
 * A GraphiQL page with every script and style inline (about 9 MB, 2.4 MB gzipped), so it
 * works with no network. Rendered and compressed once per process, on first request.
 */
export function graphiqlPage(endpoint: string): GraphiQLPage {
  if (!page) {
    const html = renderGraphiQL({ title: "TrailGraph", endpoint, defaultQuery: WELCOME_QUERY });
    const gzipped = gzipSync(html);
    page = { html, gzipped, etag: `"graphiql-${gzipped.length.toString(36)}"` };
  }
  return page;
}
