// A path the dashboard does not know.
import { Layout } from "../components/Layout";
import { Link } from "../lib/router";

export function NotFoundPage() {
  return (
    <Layout>
      <h1>Page not found</h1>
      <p>
        There is nothing at this address. <Link to="/">Go to your projects</Link>
      </p>
    </Layout>
  );
}
