import { Injectable, OnApplicationBootstrap, RequestMethod } from '@nestjs/common';
import { DiscoveryService, MetadataScanner, Reflector } from '@nestjs/core';
import { ACCESS } from '@contour/auth';

/**
 * Refuses to start the coordinator if any route lacks an @Access or @Public declaration, so a new endpoint
 * cannot ship without an explicit access rule.
 */
@Injectable()
export class RouteAccessCheck implements OnApplicationBootstrap {
  constructor(
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
    private readonly reflector: Reflector,
  ) {}

  undeclaredRoutes(): string[] {
    const missing: string[] = [];
    for (const wrapper of this.discovery.getControllers()) {
      const cls = wrapper.metatype as Function | undefined;
      if (!cls || !wrapper.instance) continue;
      const proto = Object.getPrototypeOf(wrapper.instance);
      for (const method of this.scanner.getAllMethodNames(proto)) {
        const handler = proto[method];
        const path = Reflect.getMetadata('path', handler);
        if (path === undefined) continue; // not a route
        if (!this.reflector.getAllAndOverride(ACCESS, [handler, cls])) {
          const verb = RequestMethod[Reflect.getMetadata('method', handler) as number] ?? '?';
          missing.push(`${cls.name}.${method} (${verb} ${Reflect.getMetadata('path', cls)}/${path})`);
        }
      }
    }
    return missing;
  }

  onApplicationBootstrap() {
    const missing = this.undeclaredRoutes();
    if (missing.length) throw new Error(`Routes without @Access/@Public: ${missing.join(', ')}`);
  }
}
